#!/usr/bin/env python3
"""Writes COUNT tiny files under DIR (500 per subdirectory), each with content unique to
(TAG, index). Existing files are overwritten in place, so that a new batch of distinct content
costs no inode creations or deletions."""
import os
import sys

def main():
    out, count, tag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    for i in range(count):
        d = os.path.join(out, f"d{i // 500:04d}")
        if i % 500 == 0:
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:06d}"), "w") as f:
            f.write(f"population batch {tag} file {i}\n")

main()
