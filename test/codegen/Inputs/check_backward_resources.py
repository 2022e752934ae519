#!/usr/bin/env python3
# Compiles every example's backward kernels (attn-opt --emit-backward; the
# deterministic mode too for three of them on the first arch) to a cubin for
# each arch given and
# checks ptxas' report: exits non-zero (naming the example, arch and kernel)
# on spills, a CTA that does not fit the register file or shared memory, or
# a report without kernels. Prints one line per kernel for FileCheck.
import glob
import json
import os
import subprocess
import sys

examples, archs = sys.argv[1], sys.argv[2:]
failures, count = [], 0
for path in sorted(glob.glob(os.path.join(examples, "*.mlir"))):
    name = os.path.splitext(os.path.basename(path))[0]
    for arch in archs:
        # The deterministic mode's extra kernels are the same sweeps: three
        # examples with other shapes of them (a scattered table gradient, GQA,
        # a sink-logit gradient) on the first arch.
        deterministic = arch == archs[0] and name in ("alibi", "gqa",
                                                      "sink_logits")
        modes = [[], ["--emit-deterministic"]] if deterministic else [[]]
        for mode in modes:
            run = subprocess.run(["attn-opt", path, "--emit=cubin",
                                  "--emit-backward", "--arch=" + arch,
                                  "--report=json"] + mode,
                                 capture_output=True, text=True)
            label = f"{name} {arch}{' deterministic' if mode else ''}"
            if run.returncode != 0:
                failures.append(f"{label}: attn-opt failed\n{run.stderr}")
                continue
            report = json.loads(run.stdout)
            count += 1
            if not report["kernels"]:
                failures.append(f"{label}: no kernels in the report")
            for k in report["kernels"]:
                print(f"{label}: {k['role']} {k['registers']} registers x "
                      f"{k['threads']} threads, {k['static_smem_bytes']} + "
                      f"{k['dynamic_smem_bytes']} B smem, "
                      f"{k['spill_stores_bytes']} B spilled")
                if k["spill_stores_bytes"] or k["spill_loads_bytes"]:
                    failures.append(f"{label} {k['name']}: spills")
            if not report["ok"]:
                failures.append(f"{label}: report says not ok")
print(f"checked {count} compiles")
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
