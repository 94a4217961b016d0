#!/usr/bin/python3
"""Hostile and inconsistent variants of a bundle, for the CLI tests (independent of our code:
Python's tarfile, PyNaCl, securesystemslib).

  bundle_mutate.py mutate SRC DST OP [ARG]   the attacks of install_lib.bash's bundle_mutate;
                                             keys for re-signing from $KEYS (the workspace's
                                             key directory)
  bundle_mutate.py retar SRC DST MODE [ARG]  bundle_lib.bash's retar: the same members in
                                             another order, or one changed or dropped, member
                                             metadata (mtime) kept
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

import nacl.signing
from securesystemslib.formats import encode_canonical


def read_members(src):
    with tarfile.open(src) as t:
        return [(m, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]


def unzstd(data):
    return subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout


def rezstd(raw):
    return subprocess.run(["zstd", "-3", "-c"], input=bytes(raw), capture_output=True, check=True).stdout


def flip_middle(data):
    """One bit flipped in the middle of a compressed image's content."""
    raw = bytearray(unzstd(data))
    raw[len(raw) // 2] ^= 1
    return rezstd(raw)


def retar(src, dst, mode, arg):
    members = read_members(src)
    if mode == "image-first":
        imgs = [x for x in members if x[0].name.startswith("images/")]
        rest = [x for x in members if not x[0].name.startswith("images/")]
        members = rest[:1] + imgs[:1] + rest[1:] + imgs[1:]
    elif mode == "tamper-image":
        members = [(m, flip_middle(d) if m.name == "images/" + arg else d) for m, d in members]
    elif mode == "tamper-meta":
        out = []
        for m, data in members:
            if m.name == arg:
                # one byte of the signed content: a digit of the expiry year
                i = data.index(b'"expires":"') + len(b'"expires":"') + 3
                data = data[:i] + bytes([ord("0") + (data[i] - ord("0") + 1) % 10]) + data[i + 1:]
            out.append((m, data))
        members = out
    elif mode == "drop":
        members = [x for x in members if x[0].name != arg]
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            ti = tarfile.TarInfo(m.name)
            ti.size = len(data)
            ti.mode = 0o644
            ti.mtime = m.mtime
            t.addfile(ti, io.BytesIO(data))


def mutate(src, dst, op, arg):
    members = [(m.name, d) for m, d in read_members(src)]
    files = dict(members)
    extra = []  # (TarInfo, bytes) appended raw

    def key(name):
        k = json.load(open(os.path.join(os.environ["KEYS"], name + ".key")))
        return k
    def keyid(k):
        obj = {"keytype": k["keytype"], "scheme": k["scheme"], "keyval": {"public": k["keyval"]["public"]}}
        return hashlib.sha256(encode_canonical(obj).encode()).hexdigest()
    def sign(signed, keyname):
        k = key(keyname)
        sk = nacl.signing.SigningKey(bytes.fromhex(k["keyval"]["private"]))
        sig = sk.sign(encode_canonical(signed).encode()).signature.hex()
        return json.dumps({"signed": signed, "signatures": [{"keyid": keyid(k), "sig": sig}]}).encode()
    def load(m):
        return json.loads(files[m])["signed"]
    def pin(entry, data):
        entry["length"] = len(data)
        entry["hashes"] = {"sha256": hashlib.sha256(data).hexdigest()}
    def resign_chain(repo, snap_key, ts_key):
        # snapshot pins targets, timestamp pins snapshot: re-sign both over the new bytes
        d = "metadata/%s/" % repo
        s = load(d + "snapshot.json")
        pin(s["meta"]["targets.json"], files[d + "targets.json"])
        files[d + "snapshot.json"] = sign(s, snap_key)
        ts = load(d + "timestamp.json")
        pin(ts["meta"]["snapshot.json"], files[d + "snapshot.json"])
        files[d + "timestamp.json"] = sign(ts, ts_key)

    def resign_director_chain():
        resign_chain("director", "dsnap", "dts")

    if op == "mix-and-match":
        # Director targets of another version than the snapshot pins (validly signed itself)
        t = load("metadata/director/targets.json"); t["version"] += 1
        files["metadata/director/targets.json"] = sign(t, "dtargets")
    elif op == "target-mismatch":
        # the Director asks for another release counter than the Image repository signed
        t = load("metadata/director/targets.json")
        for v in t["targets"].values():
            v["custom"]["releaseCounter"] += 5
        files["metadata/director/targets.json"] = sign(t, "dtargets")
        resign_director_chain()
    elif op == "director-hash":
        # the Director points at other bytes than the Image repository (hash of arg's image)
        t = load("metadata/director/targets.json")
        for v in t["targets"].values():
            v["hashes"]["sha256"] = "00" * 32
        files["metadata/director/targets.json"] = sign(t, "dtargets")
        resign_director_chain()
    elif op == "wrong-ecu":
        t = load("metadata/director/targets.json")
        for v in t["targets"].values():
            ids = v["custom"]["ecuIdentifiers"]
            v["custom"]["ecuIdentifiers"] = {"ecu-ghost": list(ids.values())[0]}
        files["metadata/director/targets.json"] = sign(t, "dtargets")
        resign_director_chain()
    elif op == "wrong-sig":
        # Director targets signed by the Image repository's targets key instead
        t = load("metadata/director/targets.json")
        files["metadata/director/targets.json"] = sign(t, "targets")
        resign_director_chain()
    elif op == "length-plus":
        # every image's signed length ARG bytes longer, in both repositories, re-signed throughout
        for repo, tkey in (("image-repo", "targets"), ("director", "dtargets")):
            t = load("metadata/%s/targets.json" % repo)
            for v in t["targets"].values():
                v["length"] += int(arg)
            files["metadata/%s/targets.json" % repo] = sign(t, tkey)
        resign_chain("image-repo", "snap", "ts")
        resign_director_chain()
    elif op == "too-large":
        files["metadata/image-repo/targets.json"] += b" " * (1 << 20)
    elif op == "endless":
        files["images/" + arg] = rezstd(unzstd(files["images/" + arg]) + b"\0" * (4 << 20))
    elif op == "short":
        files["images/" + arg] = rezstd(unzstd(files["images/" + arg])[:-1])
    elif op == "tamper-image":
        files["images/" + arg] = flip_middle(files["images/" + arg])
    elif op == "not-zstd":
        files["images/" + arg] = b"this is not a zstd frame" * 100
    elif op in ("junk", "junk-ts"):
        # the review's memory bomb: ARG bytes of "[{},{},...]" inside signed of the Director's
        # targets and the Image repository's timestamp (junk-ts: both timestamps, the files parsed
        # before anything pins them); not re-signed: rejected in the end
        both = ("metadata/director/targets.json", "metadata/image-repo/timestamp.json")
        if op == "junk-ts":
            both = ("metadata/director/timestamp.json", "metadata/image-repo/timestamp.json")
        for m in both:
            d = json.loads(files[m])
            d["signed"]["junk"] = [{}] * (int(arg) // 3)
            files[m] = json.dumps(d, separators=(",", ":")).encode()
    elif op == "pad":
        # ARG bytes of whitespace after every metadata file (the signatures still hold)
        for m in files:
            if m.startswith("metadata/"):
                files[m] += b" " * int(arg)
    elif op == "repack":
        pass  # the same members, written by Python's tarfile (pax headers)
    elif op == "drop":
        del files[arg]
    elif op in ("dotdot", "absolute", "symlink", "hardlink", "device", "duplicate", "badchar", "fifo"):
        last = [n for n in files if n.startswith("images/")][-1]
        ti = tarfile.TarInfo({"dotdot": "images/../../outside.bin", "absolute": "/tmp/outside.bin",
                              "badchar": "images/a b;$(x).bin", "duplicate": last}.get(op, "images/evil"))
        if op == "symlink":
            ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"
        elif op == "hardlink":
            ti.type = tarfile.LNKTYPE; ti.linkname = last
        elif op == "device":
            ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3
        elif op == "fifo":
            ti.type = tarfile.FIFOTYPE
        data = b"evil" if ti.type == tarfile.REGTYPE else b""
        ti.size = len(data)
        extra.append((ti, data))
    elif op == "truncate":
        raw = open(src, "rb").read()
        open(dst, "wb").write(raw[: len(raw) * 2 // 3])
        sys.exit(0)
    elif op == "garbage":
        open(dst, "wb").write(os.urandom(20000))
        sys.exit(0)
    else:
        sys.exit("unknown op " + op)
    with tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as t:
        for name, _ in members:
            if name not in files:
                continue
            ti = tarfile.TarInfo(name)
            ti.size = len(files[name])
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(files[name]))
        for ti, data in extra:
            t.addfile(ti, io.BytesIO(data) if data else None)


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[1] not in ("mutate", "retar"):
        sys.exit(__doc__)
    what, src, dst, how = sys.argv[1:5]
    (mutate if what == "mutate" else retar)(src, dst, how, sys.argv[5] if len(sys.argv) > 5 else None)
