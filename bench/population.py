#!/usr/bin/env python3
"""Writes COUNT tiny files under DIR (500 per subdirectory), each with content unique to
(TAG, index). Existing files are overwritten in place with content of the same length (no
truncation, which frees blocks and, on a file system mounted with `discard`, is slow), so a
new batch of distinct content costs no inode creations, deletions or block allocations."""
import os
import sys

def main():
    out, count, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for i in range(count):
        d = os.path.join(out, f"d{i // 500:04d}")
        if i % 500 == 0:
            os.makedirs(d, exist_ok=True)
        fd = os.open(os.path.join(d, f"f{i:07d}"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"population batch {tag:08d} file {i:08d}\n".encode())
        finally:
            os.close(fd)

main()
