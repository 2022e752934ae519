#!/usr/bin/python3
"""Rewrites inputs saved by `attn-run --save DIR` the ways numpy itself
writes arrays, for attn-run --load to read (test/tools/numpy-load.test).

  npy_as_numpy_writes.py layouts DIR   q as float16 ('<f2'), k in Fortran
                                       order, v as a transposed view saved
                                       as is (Fortran order, float64)
  npy_as_numpy_writes.py big DIR       v as big-endian float32 ('>f4')
  npy_as_numpy_writes.py object DIR    v as an object array (pickled)
  npy_as_numpy_writes.py same A B      prints whether A/o.npy == B/o.npy
"""
import os
import sys

import numpy as np

mode, d = sys.argv[1], sys.argv[2]


def path(name, directory=d):
    return os.path.join(directory, name + ".npy")


if mode == "layouts":
    q = np.load(path("q"))
    q16 = q.astype(np.float16)
    assert (q16.astype(np.float32) == q).all(), "q is not f16-exact"
    np.save(path("q"), q16)
    np.save(path("k"), np.asfortranarray(np.load(path("k"))))
    v = np.load(path("v")).astype(np.float64)
    # A C-contiguous array whose transpose is Fortran-contiguous: np.save
    # writes the transpose's memory with fortran_order True.
    vt = np.ascontiguousarray(v.transpose()).transpose()
    assert vt.flags.f_contiguous and not vt.flags.c_contiguous
    np.save(path("v"), vt)
    for name in ("q", "k", "v"):
        with open(path(name), "rb") as f:
            header = f.read(128).split(b"\n")[0].decode("latin1")
        print(name, header[header.index("{"):].strip())
elif mode == "big":
    np.save(path("v"), np.load(path("v")).astype(">f4"))
elif mode == "object":
    np.save(path("v"), np.array([1, "a"], dtype=object), allow_pickle=True)
elif mode == "same":
    a, b = np.load(path("o", d)), np.load(path("o", sys.argv[3]))
    print("same o:", a.shape == b.shape and bool((a == b).all()))
