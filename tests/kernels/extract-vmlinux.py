#!/usr/bin/env python3
"""extract-vmlinux.py BZIMAGE OUT: write the uncompressed ELF kernel inside a bzImage to OUT.

The guest boots the ELF directly (PVH entry) because decompressing a bzImage under QEMU's TCG
costs seconds per boot. A bzImage is a real-mode stub plus a compressed payload; the payload's
format depends on the kernel configuration (Debian: XZ for 6.1, ZSTD for 6.12), so look for every
known compression magic and keep the first candidate that decompresses to an ELF file (the magic
bytes can also occur by chance inside the stub).
"""
import subprocess
import sys

# (magic, decompressor) — the same table as the kernel's scripts/extract-vmlinux.
FORMATS = [
    (b"\xfd7zXZ\x00", ["xz", "-dc"]),
    (b"\x28\xb5\x2f\xfd", ["zstd", "-dc"]),
    (b"\x1f\x8b\x08", ["gzip", "-dc"]),
    (b"\x02\x21\x4c\x18", ["lz4", "-dc"]),
    (b"\x5d\x00\x00\x00", ["xz", "-dc", "--format=lzma"]),
    (b"BZh", ["bzip2", "-dc"]),
]


def candidates(data):
    for magic, cmd in FORMATS:
        pos = data.find(magic)
        while pos >= 0:
            yield pos, cmd
            pos = data.find(magic, pos + 1)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: extract-vmlinux.py BZIMAGE OUT")
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    for pos, cmd in candidates(data):
        try:
            # Trailing bytes after the stream make the decompressors complain: the output is
            # what counts, so their exit status is ignored.
            out = subprocess.run(cmd, input=data[pos:], capture_output=True).stdout
        except FileNotFoundError:
            continue
        if out[:4] == b"\x7fELF":
            with open(sys.argv[2], "wb") as f:
                f.write(out)
            return
    sys.exit("extract-vmlinux: no compressed ELF kernel found in " + sys.argv[1])


main()
