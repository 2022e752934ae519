// -attn-if-convert: scf.if in attn regions becomes both branches and a
// select per result; ops that could trap or read out of bounds where their
// branch is not taken get safe operands there.
// RUN: attn-opt %s --attn-if-convert | FileCheck %s
// RUN: attn-opt %s --attn-if-convert | attn-opt --verify-diagnostics | FileCheck %s --check-prefix=NOIF
// NOIF-NOT: scf.if {{.*}} -> (
// Without the pass, branching regions verify, print and parse back.
// RUN: attn-opt %s | attn-opt | FileCheck %s --check-prefix=ROUND
// ROUND-COUNT-5: scf.if %{{.*}} -> (
// NOIF: func.func @outside
// NOIF: scf.if

// A branch on the scores: both sides are pure; one select.
// CHECK-LABEL: func.func @score
// CHECK: %[[C:.*]] = arith.cmpi ult
// CHECK-NEXT: %[[H:.*]] = arith.constant 5.0
// CHECK-NEXT: %[[X:.*]] = arith.mulf %{{.*}}, %[[H]]
// CHECK-NEXT: %[[R:.*]] = arith.select %[[C]], %[[X]], %{{.*}} : f32
// CHECK-NEXT: attn.yield %[[R]]
func.func @score(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %c = arith.cmpi ult, %j, %i : index
        %r = scf.if %c -> (f32) {
          %t = arith.constant 0.5 : f32
          %x = arith.mulf %s, %t : f32
          scf.yield %x : f32
        } else {
          scf.yield %s : f32
        }
        attn.yield %r : f32
      }
  return %o : tensor<1x2x?x64xf16>
}

// A guarded read (then: the index is 0 where j >= 8) and a guarded division
// (else: the divisor is 1 where j < 8, through the negated condition).
// CHECK-LABEL: func.func @guards
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[J:.*]], %c8
// CHECK: %[[Z:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[SAFEJ:.*]] = arith.select %[[IN]], %[[J]], %[[Z]] : index
// CHECK-NEXT: %[[BV:.*]] = tensor.extract %{{.*}}[%[[SAFEJ]]]
// CHECK: %[[NOT:.*]] = arith.xori %[[IN]], %true
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT: %[[SAFED:.*]] = arith.select %[[NOT]], %[[D:.*]], %[[ONE]] : index
// CHECK-NEXT: arith.divui %[[J]], %[[SAFED]] : index
// CHECK: arith.select %[[IN]], %{{.*}}, %{{.*}} : f32
func.func @guards(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>,
                  %bias: tensor<8xf32>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %k, %v captures(%bias : tensor<8xf32>) {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index, %bt: tensor<8xf32>):
        %c8 = arith.constant 8 : index
        %in = arith.cmpi ult, %j, %c8 : index
        %d = arith.subi %j, %i : index
        %r = scf.if %in -> (f32) {
          %bv = tensor.extract %bt[%j] : tensor<8xf32>
          %x = arith.addf %s, %bv : f32
          scf.yield %x : f32
        } else {
          %q2 = arith.divui %j, %d : index
          %qi = arith.index_cast %q2 : index to i64
          %qf = arith.sitofp %qi : i64 to f32
          %x = arith.subf %s, %qf : f32
          scf.yield %x : f32
        }
        attn.yield %r : f32
      }
  return %o : tensor<1x2x?x64xf16>
}

// Nested branches in a mask, innermost first; a constant divisor other than
// 0 and -1 needs no guard.
// CHECK-LABEL: func.func @nested
// CHECK-NOT: scf.if
// CHECK: arith.remui %{{.*}}, %c4 : index
// CHECK: %[[INNER:.*]] = arith.select %{{.*}}, %{{.*}}, %{{.*}} : i1
// CHECK: %[[OUTER:.*]] = arith.select %{{.*}}, %[[INNER]], %{{.*}} : i1
// CHECK-NEXT: attn.yield %[[OUTER]]
func.func @nested(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {
  %o = attn.attention %q, %k, %v {normalizer = #attn.normalizer<softmax>}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
      mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
        %causal = arith.cmpi ule, %j, %i : index
        %r = scf.if %causal -> (i1) {
          %c16 = arith.constant 16 : index
          %near = arith.cmpi ult, %i, %c16 : index
          %s = scf.if %near -> (i1) {
            %t = arith.constant true
            scf.yield %t : i1
          } else {
            %c4 = arith.constant 4 : index
            %m = arith.remui %j, %c4 : index
            %c0 = arith.constant 0 : index
            %e = arith.cmpi eq, %m, %c0 : index
            scf.yield %e : i1
          }
          scf.yield %s : i1
        } else {
          %f = arith.constant false
          scf.yield %f : i1
        }
        attn.yield %r : i1
      }
  return %o : tensor<1x2x?x64xf16>
}

// Level 2 maps are converted too.
// CHECK-LABEL: func.func @map
// CHECK: attn.map
// CHECK-NOT: scf.if
// CHECK: arith.select
func.func @map(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %y = attn.map "ij->ij" ins(%x : tensor<4x?xf32>) -> tensor<4x?xf32> {
  ^bb0(%i: index, %j: index, %a: f32):
    %z = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %a, %z : f32
    %r = scf.if %pos -> (f32) {
      scf.yield %a : f32
    } else {
      %e = math.exp %a : f32
      scf.yield %e : f32
    }
    attn.yield %r : f32
  }
  return %y : tensor<4x?xf32>
}

// An scf.if outside attn regions is not this pass's business.
func.func @outside(%c: i1, %a: f32, %b: f32) -> f32 {
  %r = scf.if %c -> (f32) {
    scf.yield %a : f32
  } else {
    scf.yield %b : f32
  }
  return %r : f32
}
