#!/usr/bin/env python3
"""Writes COUNT files of random content with sizes uniform in [MIN, MAX] bytes (seeded, so the
size distribution is the same every run) into DIR, PER_DIR files per subdirectory."""
import os
import random
import sys

def main():
    out, count, lo, hi, per_dir, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    rng = random.Random(seed)
    total = 0
    for i in range(count):
        d = os.path.join(out, f"d{i // per_dir:04d}")
        if i % per_dir == 0:
            os.makedirs(d, exist_ok=True)
        size = rng.randint(lo, hi)
        with open(os.path.join(d, f"f{i:07d}.bin"), "wb") as f:
            f.write(os.urandom(size))
        total += size
    print(total)

main()
