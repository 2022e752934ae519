"""Prints whether the first R query rows of every head of a gradient saved by
attn-run (an .npy of shape [B, H, Nq, D], float32 or float64) are exactly
zero: `zero_rows.py FILE R`. Reads the .npy format itself (no numpy)."""
import ast
import struct
import sys

path, rows = sys.argv[1], int(sys.argv[2])
data = open(path, "rb").read()
assert data[:6] == b"\x93NUMPY", "not an .npy file"
header_len = struct.unpack("<H", data[8:10])[0]
header = ast.literal_eval(data[10:10 + header_len].decode("latin1"))
assert not header["fortran_order"]
fmt = {"<f4": "f", "<f8": "d"}[header["descr"]]
shape = header["shape"]
b, h, nq, d = shape
values = struct.unpack("<%d%s" % (b * h * nq * d, fmt), data[10 + header_len:])
bad = [
    (bi, hi, i)
    for bi in range(b)
    for hi in range(h)
    for i in range(rows)
    if any(values[((bi * h + hi) * nq + i) * d + k] != 0.0 for k in range(d))
]
if bad:
    print("rows not zero (b, h, i):", bad[:8])
else:
    print("rows 0..%d of every head: all zero" % (rows - 1))
