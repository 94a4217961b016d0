#!/usr/bin/python3
"""securesystemslib (Debian python3-securesystemslib), an independent implementation of TUF's
canonical JSON, key ids and ed25519 signatures, checks every metadata file of an extracted
bundle (python3 bundle_sslib.py BUNDLE_DIR):
  - key ids are the SHA-256 of the canonical key objects;
  - each root version N meets the threshold of its own root keys and, for N > 1, of N-1's;
  - every other role meets its threshold under the newest root of its repository
    (Image-repo delegations: under the delegating targets file);
  - timestamp -> snapshot -> targets/delegations and offline-snapshot -> offline-updates pins
    (version, length, sha256) hold over the file bytes.
Prints one line per file and exits 1 on the first failure."""
import glob
import hashlib
import json
import os
import re
import sys

from securesystemslib.formats import encode_canonical
from securesystemslib.keys import verify_signature

top = sys.argv[1]


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    return raw, json.loads(raw)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check_keys(keys, where):
    for keyid, key in keys.items():
        if hashlib.sha256(encode_canonical(key).encode()).hexdigest() != keyid:
            fail(f"{where}: key id {keyid} is not the hash of its key")


def valid_sigs(doc, keys, role):
    data = encode_canonical(doc["signed"]).encode()
    good = set()
    for s in doc["signatures"]:
        if s["keyid"] not in role["keyids"] or s["keyid"] not in keys:
            continue
        key = dict(keys[s["keyid"]], keyid=s["keyid"])
        if verify_signature(key, {"keyid": s["keyid"], "sig": s["sig"]}, data):
            good.add(s["keyid"])
    return len(good)


def need(doc, keys, role, what):
    n = valid_sigs(doc, keys, role)
    if n < role["threshold"]:
        fail(f"{what}: {n} valid signatures, threshold {role['threshold']}")
    return n


def pin(entry, raw, what):
    if "length" in entry and entry["length"] != len(raw):
        fail(f"{what}: length {len(raw)} != pinned {entry['length']}")
    if entry.get("hashes", {}).get("sha256", hashlib.sha256(raw).hexdigest()) != hashlib.sha256(raw).hexdigest():
        fail(f"{what}: sha256 differs from the pinned one")


def repo_roots(repo):
    files = glob.glob(os.path.join(top, "metadata", repo, "*.root.json"))
    versions = sorted(int(os.path.basename(f).split(".")[0]) for f in files)
    if versions != list(range(1, len(versions) + 1)):
        fail(f"{repo}: root versions {versions} are not 1..N")
    prev = None
    for v in versions:
        raw, doc = load(os.path.join(top, "metadata", repo, f"{v}.root.json"))
        s = doc["signed"]
        check_keys(s["keys"], f"{repo}/{v}.root.json")
        if s["version"] != v:
            fail(f"{repo}/{v}.root.json holds version {s['version']}")
        n = need(doc, s["keys"], s["roles"]["root"], f"{repo}/{v}.root.json (own keys)")
        if prev:
            need(doc, prev["keys"], prev["roles"]["root"], f"{repo}/{v}.root.json (previous root's keys)")
        print(f"ok {repo}/{v}.root.json ({n} signatures)")
        prev = s
    return prev


def role_file(path, keys, role, what, typ):
    raw, doc = load(path)
    if doc["signed"]["_type"] != typ:
        fail(f"{what}: _type {doc['signed']['_type']} != {typ}")
    n = need(doc, keys, role, what)
    print(f"ok {what} ({n} signatures)")
    return raw, doc["signed"]


md = os.path.join(top, "metadata")
# Image repository.
root = repo_roots("image-repo")
ir = os.path.join(md, "image-repo")
snap_raw, snap = role_file(os.path.join(ir, "snapshot.json"), root["keys"], root["roles"]["snapshot"], "image-repo/snapshot.json", "snapshot")
if os.path.exists(os.path.join(ir, "timestamp.json")):
    _, ts = role_file(os.path.join(ir, "timestamp.json"), root["keys"], root["roles"]["timestamp"], "image-repo/timestamp.json", "timestamp")
    pin(ts["meta"]["snapshot.json"], snap_raw, "image-repo timestamp -> snapshot")
    if ts["meta"]["snapshot.json"]["version"] != snap["version"]:
        fail("image-repo timestamp pins another snapshot version")
tg_raw, tg = role_file(os.path.join(ir, "targets.json"), root["keys"], root["roles"]["targets"], "image-repo/targets.json", "targets")
pin(snap["meta"]["targets.json"], tg_raw, "image-repo snapshot -> targets")
dele = tg.get("delegations", {"keys": {}, "roles": []})
check_keys(dele["keys"], "image-repo/targets.json delegations")
for r in dele["roles"]:
    p = os.path.join(ir, "delegations", r["name"] + ".json")
    raw, d = role_file(p, dele["keys"], r, f"image-repo/delegations/{r['name']}.json", "targets")
    pin(snap["meta"][r["name"] + ".json"], raw, f"image-repo snapshot -> {r['name']}.json")

# Director.
droot = repo_roots("director")
dd = os.path.join(md, "director")
sets = []
if os.path.exists(os.path.join(dd, "targets.json")):
    sets.append(dd)
sets += sorted(glob.glob(os.path.join(dd, "devices", "*")))
for s in sets:
    rel = os.path.relpath(s, md)
    t_raw, t = role_file(os.path.join(s, "targets.json"), droot["keys"], droot["roles"]["targets"], f"{rel}/targets.json", "targets")
    sn_raw, sn = role_file(os.path.join(s, "snapshot.json"), droot["keys"], droot["roles"]["snapshot"], f"{rel}/snapshot.json", "snapshot")
    _, ts = role_file(os.path.join(s, "timestamp.json"), droot["keys"], droot["roles"]["timestamp"], f"{rel}/timestamp.json", "timestamp")
    pin(sn["meta"]["targets.json"], t_raw, f"{rel} snapshot -> targets")
    pin(ts["meta"]["snapshot.json"], sn_raw, f"{rel} timestamp -> snapshot")
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ts.get("issued", "")):
        fail(f"{rel}/timestamp.json has no issued time")
if os.path.exists(os.path.join(dd, "offline-snapshot.json")):
    _, os_ = role_file(os.path.join(dd, "offline-snapshot.json"), droot["keys"], droot["roles"]["offline-snapshot"], "director/offline-snapshot.json", "offline-snapshot")
    for f in glob.glob(os.path.join(dd, "offline-updates", "*.json")):
        raw, _ = role_file(f, droot["keys"], droot["roles"]["offline-updates"], os.path.relpath(f, md), "offline-updates")
        pin(os_["meta"][os.path.basename(f)], raw, f"offline-snapshot -> {os.path.basename(f)}")
if not sets and not os.path.exists(os.path.join(dd, "offline-snapshot.json")):
    fail("no Director metadata")
print("all signatures and pins verified")
