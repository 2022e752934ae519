#!/usr/bin/python3
"""Prints the README's catalogue table (Markdown) from the built tools.

For every attn-catalogue entry: its name, source and summary, and what it
compiles to at nq = nk = 4096 (attn-opt --report=json, the default 64x64
tiles): the mask's sparsity kind and the KV tiles visited out of the total.
For a mask over captured values ("runtime" sparsity, or a captured prefix)
the compile-time report cannot know the data: its count is the bound the
static part of the mask gives; the kernel skips more at run time.

Usage: tools/docs/catalogue_table.py [BUILD_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    catalogue = os.path.join(build, "tools", "attn-catalogue", "attn-catalogue")
    opt = os.path.join(build, "tools", "attn-opt", "attn-opt")
    entries = [line.split("\t") for line in subprocess.run(
        [catalogue, "--list"], check=True, capture_output=True,
        text=True).stdout.splitlines()]
    tmp = tempfile.mkdtemp()
    subprocess.run([catalogue, "--all", tmp], check=True)
    print("| variant | source | what it computes | sparsity | KV tiles "
          "visited at 4096² (of 4096) |")
    print("|---|---|---|---|---|")
    for name, source, summary in entries:
        report = json.loads(subprocess.run(
            [opt, os.path.join(tmp, name + ".mlir"), "--report=json",
             "--nq=4096", "--nk=4096"], check=True, capture_output=True,
            text=True).stdout)["kernels"][0]
        example = os.path.exists(os.path.join(ROOT, "examples", name + ".mlir"))
        shown = f"`{name}`" + (" (example)" if example else "")
        visited = str(report["kv_tiles_visited"])
        if report["sparsity"] == "runtime":
            visited = "≤ " + visited + " (data-dependent)"
        print(f"| {shown} | {source} | {summary} | {report['sparsity']} | "
              f"{visited} |")


if __name__ == "__main__":
    main()
