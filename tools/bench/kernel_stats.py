#!/usr/bin/python3
"""Static figures of attn's tensor-core kernels, beside FlashAttention-2's.

For f16 causal attention at FlashAttention-2's tiles and attn's defaults,
sm_80 and sm_90: ptxas' registers, spills and stack frame, static + dynamic
shared memory, CTAs per SM on an A100 and an H100, the kernel's .text bytes
per static mma.sync (as shipped, KV loop x1), and the SASS slots per unit of
work of an interior KV tile: the cost model's measurement (attn-opt
--emit=cubin --report=json --nq= --nk=, attn/Codegen/KernelCost.h), which
compiles the kernel with every tile on the interior version and the KV loop
unrolled x1 and x2, over the m16n8k16 count of one warp's share of a KV tile
(its `kv_loop` object). The x2 kernel is checked in the emulator first. No
GPU is needed: everything is static.

Usage: kernel_stats.py BUILD_DIR [--quick]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# FlashAttention-2 2.8.4, CUDA 13, sm_80, causal: whole kernel .text over
# the mma.sync count in its PTX (figures given with the issue).
FA2 = {
    (64, 128, 128): (56832, 512),
    (128, 128, 64): (69888, 512),
    (128, 64, 64): (26368, 256),
}


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit("failed: " + " ".join(args) + "\n" + r.stdout + r.stderr)
    return r.stdout


def variant(tmp, d):
    """examples/causal.mlir with head dim d."""
    text = open(os.path.join(ROOT, "examples", "causal.mlir")).read()
    path = os.path.join(tmp, f"causal_d{d}.mlir")
    open(path, "w").write(text.replace("x64xf16", f"x{d}xf16"))
    return path


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    quick = "--quick" in sys.argv
    opt = os.path.join(build, "tools", "attn-opt", "attn-opt")
    attn_run = os.path.join(build, "tools", "attn-run", "attn-run")
    # (head dim, block-m, block-n, warps): FlashAttention-2's tiles (d64
    # 128x128, d128 128x64, 4 warps of 32 rows) and attn's other defaults.
    configs = [(64, 64, 64, 4), (64, 128, 64, 4), (64, 128, 128, 4),
               (128, 64, 64, 4), (128, 128, 64, 4)]
    if not quick:
        configs += [(64, 128, 64, 8), (256, 64, 32, 4), (256, 64, 64, 4)]
    tmp = tempfile.mkdtemp()
    print("attn kernel statistics (static: ptxas, the cubin's .text, PTX), "
          "f16 causal")
    header = ("d", "bm", "bn", "arch", "warps", "regs", "spill", "stack",
              "smem", "CTA/SM", ".text B", "mma", "B/mma", "SASS/unit",
              "model 4096^2")
    # sm_90a: the wgmma schedule (whole warpgroups of 16-row warps).
    configs90a = [(64, 128, 128, 8), (128, 128, 128, 8), (128, 128, 64, 8)]
    if not quick:
        configs90a += [(64, 128, 64, 8), (256, 64, 64, 4), (256, 128, 64, 8)]
    rows = []
    jobs = [(c, ("sm_80", "sm_90")) for c in configs]
    jobs += [(c, ("sm_90a",)) for c in configs90a]
    for (d, bm, bn, warps), archs in jobs:
        src = variant(tmp, d)
        schedule = f"block-m={bm} block-n={bn} warps={warps}"
        # The x2 kernel must compute the right thing (on the schedule sm_90a
        # gets when that is the arch measured).
        out = run([attn_run, src, "--device=emu", "--check", "--nq=150",
                   "--nk=170", f"--block-m={bm}", f"--block-n={bn}",
                   f"--warps={warps}", "--unroll=2"] +
                  (["--arch=sm_90a"] if archs == ("sm_90a",) else []))
        if "FAIL" in out or "PASS" not in out:
            raise SystemExit(f"x2 kernel fails --check:\n{out}")
        if archs == ("sm_90a",) and "(wgmma)" not in out:
            raise SystemExit(f"sm_90a did not get the wgmma schedule:\n{out}")
        for arch in archs:
            # The kernel as shipped (resources, .text per mma) and its KV
            # loop's interior iteration (the cost model's x2 - x1).
            pipe = f"builtin.module(attn-pipeline{{{schedule} arch={arch}}})"
            report = json.loads(run([opt, src, "--pass-pipeline=" + pipe,
                                     "--emit=cubin", "--arch=" + arch,
                                     "--report=json", "--nq=4096",
                                     "--nk=4096"]))
            k = report["kernels"][0]
            text = k["text_bytes"]
            loop = k["kv_loop"]
            cost = k["cost"][0]
            ptx = run([opt, src, "--pass-pipeline=builtin.module(attn-pipeline"
                       f"{{{schedule} arch={arch}}})", "--emit=ptx",
                       "--arch=" + arch])
            # Static mma instructions: mma.sync, or a wgmma (a warpgroup's).
            mmas = len(re.findall(r"\bmma\.sync|\bwgmma\.mma_async", ptx))
            units = loop["ptx_per_warp"]["mma_m16n8k16"]
            smem = k["static_smem_bytes"] + k["dynamic_smem_bytes"]
            rows.append((d, bm, bn, arch, warps, k["registers"],
                         k["spill_stores_bytes"] + k["spill_loads_bytes"],
                         k["stack_frame_bytes"], smem,
                         f'{cost["ctas_per_sm"]} {cost["target"]}',
                         text, mmas, round(text / max(mmas, 1)),
                         round(loop["sass_slots_per_warp"] / units, 1),
                         f'{cost["predicted_us"]} us {cost["bound"]}'))
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows))
              for i, h in enumerate(header)]
    print("  ".join(str(h).rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(str(v).rjust(w) for v, w in zip(r, widths)))
    print("\nFlashAttention-2 2.8.4 (CUDA 13, sm_80, causal), whole kernel "
          ".text / mma.sync in PTX:")
    for (d, bm, bn), (text, mma) in FA2.items():
        print(f"  d{d} {bm}x{bn} 4 warps: {text} B / {mma} = {round(text / mma)} B")
    print("  SASS slots per unit of work in its KV loop: <= 6.9 (d64), "
          "<= 6.4 (d128)")
    print("\nsm_90a rows: the wgmma schedule (8 warps = 2 warpgroups of 64 rows "
          "for block-m 128); mma\ncounts wgmma.mma_async instructions (each "
          "m64nNk16, N up to 256), so B/mma is not\ncomparable with the "
          "mma.sync rows; SASS/unit is (per m16n8k16's worth of one warp's "
          "MACs).")
    print("\nCTA/SM and model: the static cost model's occupancy and its "
          "prediction for B=1, Hq=8,\nNq = Nk = 4096 on the arch's target "
          "(docs/cost-model.md).")
    print("\nSASS/unit: instructions per m16n8k16 of one warp's share of an "
          "interior KV tile\n(the interior version alone, x2 - x1 unrolled); "
          ".text / mma: the whole kernel as shipped\n(x1), interior and edge "
          "versions together.")
    # Global traffic of causal 1024^2 on the emulator's counters.
    out = run([attn_run, variant(tmp, 64), "--device=emu", "--counters",
               "--nq=1024", "--nk=1024", "--b=1"])
    for line in out.splitlines():
        if "bytes" in line:
            print("emulator counters, causal d64 B=1 Hq=8 1024^2: " + line.strip())


if __name__ == "__main__":
    main()
