#!/usr/bin/env bash
#===- tools/bench/serving.sh - paged vs contiguous KV figures --------------===#
#
# Prints (not a test) for Llama-3-8B's decode shape (examples/models/
# llama3_8b.mlir: Hq 32, Hkv 8, d 128, bf16; B 4 sequences of one query over
# NK keys each), run in the emulator with 16-row tiles (the runtime's decode
# plan) and its counters: the global bytes read with the keys contiguous
# (--varlen) and in a paged KV cache of 1, 16 and 64 keys per page
# (--page-size, pages shuffled), each against the contiguous run, and the
# K/V model B * Hq * NK * (D + Dv) * 2 bytes (without GQA packing every
# query head reads its KV head's keys). Each run is also checked against
# the float64 interpreter (--check --memcheck).
#
# Usage: tools/bench/serving.sh [BUILD_DIR] [NK]   (defaults: build, 8192)
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
nk=${2:-8192}
run=$build/tools/attn-run/attn-run
variant=$root/examples/models/llama3_8b.mlir
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ATTN_CACHE_DIR=$tmp/cache

echo "machine: $(nproc) cores, $(date -u +%Y-%m-%d); Llama-3-8B decode B=4 Hq=32 Hkv=8 d=128 bf16 Nq=1 Nk=$nk, emulator, 16-row tiles"
keys="$nk,$nk,$nk,$nk"
for pages in 0 1 16 64; do
  flags=()
  [ "$pages" -gt 0 ] && flags=(--page-size="$pages")
  "$run" "$variant" --device=emu --block-m=16 --varlen=1,1,1,1 --varlen-k="$keys" \
    "${flags[@]}" --counters --check --memcheck --json >"$tmp/$pages.json" \
    2>"$tmp/$pages.err" || { cat "$tmp/$pages.err" >&2; exit 1; }
done
/usr/bin/python3 - "$tmp" "$nk" <<'PY'
import json, sys
tmp, nk = sys.argv[1], int(sys.argv[2])
model = 4 * 32 * nk * (128 + 128) * 2
base = None
for pages in (0, 1, 16, 64):
    r = json.load(open(f"{tmp}/{pages}.json"))
    read = r["counters"]["global_bytes_read"]
    checks = " ".join(f'{c["name"]} {c["rel_err"]:.1e} {"PASS" if c["pass"] else "FAIL"}'
                      for c in r["check"])
    what = "contiguous keys" if pages == 0 else f"pages of {pages:>2} keys"
    if base is None:
        base = read
    print(f"{what:16}: {read / 1e6:8.1f} MB read ({read / base - 1:+6.1%} vs contiguous, "
          f"{read / model:.3f}x the K/V model); memcheck "
          f'{"clean" if r["memcheck"]["violations"] == 0 else "FAILED"}; {checks}')
PY
