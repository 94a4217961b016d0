#!/usr/bin/python3
"""Hostile (and a few valid) bundle archives made with Python's tarfile: an independent tar
producer for the bundle reader's member rules (docs/bundle-format.md).

usage: mkhostile.py OUTDIR
Writes OUTDIR/<case>.uptane and OUTDIR/manifest.tsv with one line per case:
  <case>.uptane <TAB> expected class (ok|unsafe-archive|malformed|too-large) <TAB> member or -
The reader must give exactly that class, naming that member in its error.
"""
import gzip
import io
import os
import subprocess
import sys
import tarfile


def zstd(data):
    """A real zstd frame, from the zstd CLI (Debian zstd)."""
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


OUT = sys.argv[1]
MANIFEST = []
BJ = (b'{"format":"uptane-offline-bundle","version":1,"kind":"device",'
      b'"created":"2027-01-15T00:00:00Z","devices":["VIN-1"],"images":[]}')
IMG = zstd(b"firmware" * 100)


def info(name, size=0, type_=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = type_
    ti.linkname = link
    ti.mode = 0o644
    ti.mtime = 1799971200
    if type_ in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        ti.devmajor, ti.devminor = 1, 3
    return ti


def case(name, want, member, members, fmt=tarfile.PAX_FORMAT, mode="w"):
    """members: list of (name, data or None, type, link)."""
    path = os.path.join(OUT, name + ".uptane")
    with tarfile.open(path, mode, format=fmt) as t:
        for m in members:
            mname, data = m[0], m[1]
            type_ = m[2] if len(m) > 2 else tarfile.REGTYPE
            link = m[3] if len(m) > 3 else ""
            ti = info(mname, len(data) if data is not None else 0, type_, link)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    MANIFEST.append((name + ".uptane", want, member))
    return path


bj = ("bundle.json", BJ)
meta = ("metadata/director/targets.json", b"{}")
img = ("images/fw.bin", IMG)

# valid, in each tar dialect another producer might use
for fmt, tag in ((tarfile.USTAR_FORMAT, "ustar"), (tarfile.GNU_FORMAT, "gnu"),
                 (tarfile.PAX_FORMAT, "pax")):
    case("valid-" + tag, "ok", "-", [bj, ("metadata", None, tarfile.DIRTYPE), meta, img], fmt)
# long (but allowed) names need GNU longname or pax headers
long_ok = "images/" + "d/" * 300 + "x" * (1024 - 7 - 600)
assert len(long_ok) == 1024
case("valid-long-gnu", "ok", "-", [bj, (long_ok, IMG)], tarfile.GNU_FORMAT)
case("valid-long-pax", "ok", "-", [bj, (long_ok, IMG)], tarfile.PAX_FORMAT)

# unsafe-archive
case("dotdot", "unsafe-archive", "images/../../outside.bin",
     [bj, meta, ("images/../../outside.bin", b"x"), img])
case("dotdot-meta", "unsafe-archive", "metadata/../../etc/x", [bj, ("metadata/../../etc/x", b"x")])
case("dot", "unsafe-archive", "images/./fw.bin", [bj, ("images/./fw.bin", IMG)])
case("absolute", "unsafe-archive", "/images/fw.bin", [bj, ("/images/fw.bin", IMG)])
case("symlink", "unsafe-archive", "images/fw.bin",
     [bj, ("images/fw.bin", None, tarfile.SYMTYPE, "/dev/sda")])
case("symlink-dir", "unsafe-archive", "metadata/director",
     [bj, ("metadata/director", None, tarfile.SYMTYPE, "/etc")])
case("hardlink", "unsafe-archive", "images/b.bin",
     [bj, img, ("images/b.bin", None, tarfile.LNKTYPE, "images/fw.bin")])
case("chrdev", "unsafe-archive", "images/mem", [bj, ("images/mem", None, tarfile.CHRTYPE)])
case("blkdev", "unsafe-archive", "images/sda", [bj, ("images/sda", None, tarfile.BLKTYPE)])
case("fifo", "unsafe-archive", "metadata/fifo", [bj, ("metadata/fifo", None, tarfile.FIFOTYPE)])
case("duplicate-meta", "unsafe-archive", "metadata/director/targets.json",
     [bj, meta, ("metadata/director/targets.json", b"[]")])
case("duplicate-image", "unsafe-archive", "images/fw.bin", [bj, img, img])
case("duplicate-bundle-json", "unsafe-archive", "bundle.json", [bj, bj])
case("space", "unsafe-archive", "images/a b.bin", [bj, ("images/a b.bin", IMG)])
case("backslash", "unsafe-archive", "images/a\\b.bin", [bj, ("images/a\\b.bin", IMG)])
case("control-char", "unsafe-archive", "images/a?.bin", [bj, ("images/a\x07.bin", IMG)])
case("newline", "unsafe-archive", "metadata/a?b.json", [bj, ("metadata/a\nb.json", b"{}")])
case("utf8", "unsafe-archive", None, [bj, ("images/caf\u00e9.bin", IMG)])
case("empty-component", "unsafe-archive", "metadata//a.json", [bj, ("metadata//a.json", b"{}")])
too_long = "images/" + "y" * (1025 - 7)
case("path-1025-pax", "unsafe-archive", None, [bj, (too_long, IMG)], tarfile.PAX_FORMAT)
case("path-1025-gnu", "unsafe-archive", None, [bj, (too_long, IMG)], tarfile.GNU_FORMAT)
case("path-huge-pax", "unsafe-archive", None, [bj, ("images/" + "z" * 70000, IMG)])

# malformed
case("metadata-after-image", "malformed", "metadata/late.json",
     [bj, meta, img, ("metadata/late.json", b"{}")])
case("top-level-other", "malformed", "README", [bj, ("README", b"hi")])
case("top-level-dir", "malformed", "extra", [bj, ("extra", None, tarfile.DIRTYPE)])
case("bundle-json-missing", "malformed", "metadata/director/targets.json", [meta, img])
case("bundle-json-not-first", "malformed", "metadata/director/targets.json", [meta, bj, img])
# 2 is an encrypted bundle (docs/bundle-format.md); 3 is from a newer bundler
case("bundle-json-version-3", "malformed", "bundle.json",
     [("bundle.json", BJ.replace(b'"version":1', b'"version":3')), meta])
case("bundle-json-format", "malformed", "bundle.json",
     [("bundle.json", BJ.replace(b"uptane-offline-bundle", b"something-else")), meta])
case("bundle-json-garbage", "malformed", "bundle.json", [("bundle.json", b"\x00\x01garbage")])
case("empty-archive", "malformed", "bundle.json", [])

# too-large
case("meta-file-over-1mib", "too-large", "metadata/big.json",
     [bj, ("metadata/big.json", b" " * ((1 << 20) + 1))])
case("meta-total-over-16mib", "too-large", "metadata/f16.json",
     [bj] + [("metadata/f%02d.json" % i, b" " * (1 << 20)) for i in range(17)])
case("bundle-json-over-1mib", "too-large", "bundle.json", [("bundle.json", b" " * ((1 << 20) + 1))])

# not tar, truncated
valid = os.path.join(OUT, "valid-pax.uptane")
data = open(valid, "rb").read()
with open(os.path.join(OUT, "gzip.uptane"), "wb") as f:
    f.write(gzip.compress(data))
MANIFEST.append(("gzip.uptane", "malformed", "-"))
with open(os.path.join(OUT, "zstd.uptane"), "wb") as f:
    f.write(zstd(data))
MANIFEST.append(("zstd.uptane", "malformed", "-"))
rnd = bytes((i * 1103515245 + 12345) >> 16 & 0xFF for i in range(8192))
with open(os.path.join(OUT, "random.uptane"), "wb") as f:
    f.write(rnd)
MANIFEST.append(("random.uptane", "malformed", "-"))
with open(os.path.join(OUT, "text.uptane"), "wb") as f:
    f.write(b"this is not a tar archive\n" * 40)
MANIFEST.append(("text.uptane", "malformed", "-"))
for cut in (100, 700, 1600):
    with open(os.path.join(OUT, "truncated-%d.uptane" % cut), "wb") as f:
        f.write(data[:cut])
    MANIFEST.append(("truncated-%d.uptane" % cut, "malformed", "-"))
# a header checksum broken in the second member: libarchive would resynchronise; we refuse
broken = bytearray(data)
second = broken.find(b"metadata/director/targets.json")
assert second > 0
broken[second + 148:second + 156] = b"0000000\x00"
with open(os.path.join(OUT, "bad-checksum.uptane"), "wb") as f:
    f.write(bytes(broken))
MANIFEST.append(("bad-checksum.uptane", "malformed", "-"))

with open(os.path.join(OUT, "manifest.tsv"), "w") as f:
    for name, want, member in MANIFEST:
        f.write("%s\t%s\t%s\n" % (name, want, member if member is not None else "-"))
