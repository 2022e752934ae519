#!/usr/bin/env python3
# Checks attn-tune's and tile-map's pictures: each PNG decodes (matplotlib)
# at its fixed pixel size, and each CSV holds the data it was drawn from.
#   check_pictures.py tile-map PNG CSV REPORT.json
#   check_pictures.py tuning PLOTS_DIR DB.jsonl
# Prints one OK line per check; exits non-zero on the first mismatch.
import csv
import glob
import json
import os
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.image


def check_png(path, width, height):
    pixels = matplotlib.image.imread(path)
    if pixels.shape[:2] != (height, width):
        sys.exit(f"{path}: {pixels.shape[1]} x {pixels.shape[0]} pixels, "
                 f"expected {width} x {height}")
    print(f"OK {os.path.basename(path)} {width} x {height}")


def rows_of(path):
    with open(path) as f:
        return list(csv.DictReader(f))


mode = sys.argv[1]
if mode == "tile-map":
    png, csv_path, report = sys.argv[2:5]
    check_png(png, 600, 640)
    tile_map = json.load(open(report))["kernels"][0]["tile_map"]
    names = {".": "skipped", "P": "partial", "F": "full"}
    expected = [(i, j, names[c]) for i, row in enumerate(tile_map)
                for j, c in enumerate(row)]
    got = [(int(r["q_tile"]), int(r["kv_tile"]), r["class"])
           for r in rows_of(csv_path)]
    if got != expected:
        sys.exit(f"{csv_path}: not the report's tile_map")
    print(f"OK {os.path.basename(csv_path)}: the report's {len(got)} tiles")
elif mode == "tuning":
    plots, db = sys.argv[2:4]
    entries = [json.loads(l) for l in open(db).read().splitlines()[1:]]
    for png in sorted(glob.glob(os.path.join(plots, "space_*.png"))):
        check_png(png, 1000, 400)
        b, nq, nk = map(int, re.search(r"_b(\d+)_q(\d+)_k(\d+)\.png$",
                                       png).groups())
        rows = rows_of(png[:-4] + ".csv")
        best = min(float(r["score_us"]) for r in rows if r["passed"] == "1")
        entry = [e for e in entries if e["shape"] == {"b": b, "hq": e["shape"]["hq"],
                                                      "nq": nq, "nk": nk}]
        if len(entry) != 1 or abs(entry[0]["score_us"] - best) > 1e-9 * best:
            sys.exit(f"{png}: its best score {best} is not the DB's "
                     f"{[e['score_us'] for e in entry]}")
        print(f"OK {os.path.basename(png)[:-4]}.csv: best {best} us = the "
              "DB entry")
    roof = glob.glob(os.path.join(plots, "roofline_*.png"))
    if len(roof) != 1:
        sys.exit(f"{plots}: {len(roof)} rooflines")
    check_png(roof[0], 600, 400)
    points = rows_of(roof[0][:-4] + ".csv")
    if not points:
        sys.exit("the roofline has no candidates")
    print(f"OK {os.path.basename(roof[0])[:-4]}.csv: {len(points)} candidates")
else:
    sys.exit(f"unknown mode {mode}")
