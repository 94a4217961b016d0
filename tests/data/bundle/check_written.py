#!/usr/bin/python3
"""Reads a bundle written by our writer with independent tools: Python's tarfile for the
container, the zstd CLI for each image. Checks the layout of docs/bundle-format.md: bundle.json
first, then metadata/ members, then images/ members; regular files only, mode 0644; every image
decompresses (window <= 4 MiB: zstd --memory=4MB) to the source file's bytes.

usage: check_written.py BUNDLE_OR_FIRST_VOLUME SRC_DIR NAME=SRCFILE...
Exit 0 when all holds; prints what differs otherwise.
"""
import glob
import io
import os
import subprocess
import sys
import tarfile

path, srcdir, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
want = dict(p.split("=", 1) for p in pairs)
if os.path.exists(path):
    data = open(path, "rb").read()
else:  # split volumes, concatenated in order
    data = b"".join(open(v, "rb").read() for v in sorted(glob.glob(path + ".[0-9][0-9][0-9]")))
errors = []
with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
    members = t.getmembers()
    names = [m.name for m in members]
    if names[0] != "bundle.json":
        errors.append("first member is %s" % names[0])
    kinds = [0 if n == "bundle.json" else 1 if n.startswith("metadata/") else 2 for n in names]
    if kinds != sorted(kinds):
        errors.append("member order: %s" % names)
    for m in members:
        if not m.isreg():
            errors.append("%s: not a regular file" % m.name)
        if m.mode != 0o644:
            errors.append("%s: mode %o" % (m.name, m.mode))
    seen = {}
    for m in members:
        if not m.name.startswith("images/"):
            continue
        z = t.extractfile(m).read()
        out = subprocess.run(["zstd", "-d", "-q", "-c", "--memory=4MB"], input=z,
                             stdout=subprocess.PIPE)
        if out.returncode != 0:
            errors.append("%s: zstd -d --memory=4MB failed" % m.name)
            continue
        seen[m.name[len("images/"):]] = out.stdout
for name, src in want.items():
    if name not in seen:
        errors.append("image %s missing" % name)
    elif seen[name] != open(os.path.join(srcdir, src), "rb").read():
        errors.append("image %s differs from %s" % (name, src))
for e in errors:
    print(e)
print("checked %d members, %d images" % (len(names), len(seen)))
sys.exit(1 if errors else 0)
