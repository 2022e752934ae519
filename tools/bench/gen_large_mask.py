#!/usr/bin/env python3
"""Writes a variant whose mask region has N generated index operations (a
causal mask thinned by a bounded chain of arithmetic on i and j) to stdout:
the input of tools/bench/large-mask.sh and test/codegen/outline.test.

Usage: gen_large_mask.py N [SEED]"""
import random
import sys

n = int(sys.argv[1])
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
r = random.Random(seed)
lines = []
consts = {}
def const(c):
    if c not in consts:
        v = f'%c{len(consts)}'; consts[c] = v
        lines.append(f'        {v} = arith.constant {c} : index')
    return consts[c]
cnt = 0
def fresh():
    global cnt; cnt += 1; return f'%t{cnt}'
vals = ['%i', '%j']
ops = 0
# A chain of bounded index arithmetic over i and j: every step mixes the
# previous value with i or j and keeps it in [0, 1000).
while ops < n - 6:
    a = vals[-1]; x = r.choice(['%i', '%j'])
    k = r.choice(['addi', 'subi', 'muli', 'maxsi', 'minsi', 'select'])
    v = fresh()
    if k == 'muli':
        lines.append(f'        {v} = arith.muli {a}, {const(r.randint(2, 5))} : index'); ops += 1
    elif k == 'select':
        c = fresh(); lines.append(f'        {c} = arith.cmpi slt, {a}, {x} : index')
        lines.append(f'        {v} = arith.select {c}, {a}, {x} : index'); ops += 2
    else:
        lines.append(f'        {v} = arith.{k} {a}, {x} : index'); ops += 1
    w = fresh(); lines.append(f'        {w} = arith.remsi {v}, {const(997)} : index'); ops += 1
    vals.append(w)
last = vals[-1]
x = fresh(); lines.append(f'        {x} = arith.remsi {last}, {const(3)} : index')
y = fresh(); lines.append(f'        {y} = arith.cmpi ne, {x}, {const(0)} : index')
z = fresh(); lines.append(f'        {z} = arith.cmpi ule, %j, %i : index')
d = fresh(); lines.append(f'        {d} = arith.cmpi eq, %j, %i : index')
u = fresh(); lines.append(f'        {u} = arith.andi {y}, {z} : i1')
w = fresh(); lines.append(f'        {w} = arith.ori {u}, {d} : i1')
body = '\n'.join(lines)
print(f'''// A causal mask thinned by {n} generated index operations on i and j
// (tools/bench/gen_large_mask.py): keys j <= i whose chain value is not a
// multiple of 3, and the diagonal.
func.func @large_mask(%q: tensor<1x2x?x64xf16>, %k: tensor<1x2x?x64xf16>, %v: tensor<1x2x?x64xf16>) -> tensor<1x2x?x64xf16> {{
  %o = attn.attention %q, %k, %v {{normalizer = #attn.normalizer<softmax>}}
      : tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16>, tensor<1x2x?x64xf16> -> tensor<1x2x?x64xf16>
      mask {{
      ^bb0(%b: index, %h: index, %i: index, %j: index, %nq: index, %nk: index):
{body}
        attn.yield {w} : i1
      }}
  return %o : tensor<1x2x?x64xf16>
}}''')
