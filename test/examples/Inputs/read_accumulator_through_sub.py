"""Rewrites the first accumulating map of a kernel IR file (the one of
equation bhif,bhif->bhif whose body is `x + c`) to read x through `x - 0`:
the same value, but not a product of x, so the CUDA emitter must not hold x
in range-scaled units across the KV loop (it scales that tile's P.V per
tile instead). Prints the result."""
import re
import sys

text = open(sys.argv[1]).read()
start = text.index('attn.map "bhif,bhif->bhif"')
pattern = re.compile(r"(%\d+) = arith.addf (%arg\d+), (%arg\d+) : f32\n")
m = pattern.search(text, start)
# The match starts after the line's indentation; later lines need their own.
indent = " " * 14
edit = (f"%zz = arith.constant 0.0 : f32\n"
        f"{indent}%x = arith.subf {m.group(2)}, %zz : f32\n"
        f"{indent}{m.group(1)} = arith.addf %x, {m.group(3)} : f32\n")
sys.stdout.write(text[:m.start()] + edit + text[m.end():])
