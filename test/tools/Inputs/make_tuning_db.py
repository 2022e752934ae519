#!/usr/bin/env python3
# Writes a tuning database for the tests: `make_tuning_db.py IR_HASH OUT`
# with entries of that variant (f16) for sm_80 at two buckets, sm_90 at one,
# and one of bf16 and one of another variant that must never be picked.
import json
import sys

ir_hash, out = sys.argv[1], sys.argv[2]


def entry(arch, bucket, block_m, block_n, warps, score, source="modelled",
          dtype="f16", h=ir_hash):
    return {"ir_hash": h, "function": "causal", "dtype": dtype, "arch": arch,
            "bucket": bucket, "score_us": score, "source": source,
            "schedule": {"block_m": block_m, "block_n": block_n,
                         "warps": warps, "stages": 2, "path": "mma",
                         "split_kv": "never"}}


with open(out, "w") as f:
    f.write(json.dumps({"attn_tuning_db": 1}) + "\n")
    for e in (entry("sm_80", [8, 8, 3], 64, 32, 4, 10.0),
              entry("sm_80", [12, 12, 4], 128, 128, 8, 100.0),
              entry("sm_90", [8, 8, 3], 16, 64, 1, 5.0),
              entry("sm_80", [8, 8, 3], 16, 32, 1, 1.0, dtype="bf16"),
              entry("sm_80", [8, 8, 3], 16, 128, 1, 1.0, h="0000000000000000")):
        f.write(json.dumps(e) + "\n")
