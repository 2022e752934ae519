#!/usr/bin/env python3
# Compiles every example to a cubin for each arch given and checks the
# resource report: exits non-zero (naming the example and arch) on spills,
# a CTA that does not fit the register file or shared memory (static plus the
# tensor-core path's dynamic staging buffers), or a report without kernels. Prints one line per compile for FileCheck.
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
        # Level 1 IR without passes: attn-opt runs attn-pipeline.
        run = subprocess.run(["attn-opt", path, "--emit=cubin",
                              "--arch=" + arch, "--report=json"],
                             capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"{name} {arch}: attn-opt failed\n{run.stderr}")
            continue
        report = json.loads(run.stdout)
        count += 1
        assert report["arch"] == arch
        if not report["kernels"]:
            failures.append(f"{name} {arch}: no kernels in the report")
        for k in report["kernels"]:
            print(f"{name} {arch}: {k['name']} {k['path']} "
                  f"{k['registers']} registers x {k['threads']} threads, "
                  f"{k['static_smem_bytes']} + {k['dynamic_smem_bytes']} B "
                  f"smem, {k['stack_frame_bytes']} B stack")
            if k["spill_stores_bytes"] or k["spill_loads_bytes"]:
                failures.append(f"{name} {arch} {k['name']}: spills")
            if not 0 < k["registers"] * k["threads"] <= 65536:
                failures.append(f"{name} {arch} {k['name']}: register file")
            if (k["static_smem_bytes"] > min(49152, report["smem_limit_bytes"])
                    or k["static_smem_bytes"] + k["dynamic_smem_bytes"]
                    > report["smem_limit_bytes"]):
                failures.append(f"{name} {arch} {k['name']}: shared memory")
        if not report["ok"]:
            failures.append(f"{name} {arch}: report says not ok")
print(f"checked {count} compiles")
if failures:
    print("\n".join(failures), file=sys.stderr)
    sys.exit(1)
