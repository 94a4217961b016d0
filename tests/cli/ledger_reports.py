"""Independent producer of signed device reports (docs/reports.md) for the ledger tests:
PyNaCl signs, securesystemslib's encode_canonical gives the bytes that are signed, and the key
files are the docs/reports.md format. Nothing here shares code with the C implementation.

Used as a module by tests/cli/ledger_*.sh (run with /usr/bin/python3), and as a script:
  ledger_reports.py bulk OUTDIR DEVICES REPORTS_PER_DEVICE   (for the ingest benchmark)
"""
import hashlib
import json
import os
import sys

import nacl.signing
from securesystemslib.formats import encode_canonical


def keygen(prefix, seed=None):
    """Writes PREFIX.pub and PREFIX.key; returns the key dict (seed, public, keyid)."""
    seed = seed if seed is not None else os.urandom(32)
    sk = nacl.signing.SigningKey(seed)
    pub = sk.verify_key.encode().hex()
    pubobj = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": pub}}
    with open(prefix + ".pub", "w") as f:
        json.dump(pubobj, f, indent=2)
    keyobj = {"keytype": "ed25519", "scheme": "ed25519",
              "keyval": {"public": pub, "private": seed.hex()}}
    fd = os.open(prefix + ".key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(keyobj, f)
    return load_key(prefix + ".key")


def load_key(path):
    with open(path) as f:
        obj = json.load(f)
    seed = bytes.fromhex(obj["keyval"]["private"])
    pubobj = {"keytype": obj["keytype"], "scheme": obj["scheme"],
              "keyval": {"public": obj["keyval"]["public"]}}
    keyid = hashlib.sha256(encode_canonical(pubobj).encode()).hexdigest()
    return {"sk": nacl.signing.SigningKey(seed), "keyid": keyid}


def sign(key, signed):
    msg = encode_canonical(signed).encode("utf-8")
    sig = key["sk"].sign(msg).signature.hex()
    return {"signed": signed, "signatures": [{"keyid": key["keyid"], "sig": sig}]}


def ecu_report(key, serial, target, time, sha256=None, length=1024, attacks="", counter=1,
               state=None):
    """state None: no "state" field (a device from before it, read as installed)."""
    image = None
    if target == "":  # the installer's form for an image it never installed (factory)
        image = {"filepath": "", "fileinfo": {"length": 0, "hashes": {}}}
    elif target is not None:
        image = {"filepath": target,
                 "fileinfo": {"length": length,
                              "hashes": {"sha256": sha256 or hashlib.sha256(
                                  target.encode()).hexdigest()}}}
    signed = {"ecu_serial": serial, "installed_image": image, "attacks_detected": attacks,
              "latest_time": time, "report_counter": counter}
    if state is not None:
        signed["state"] = state
    return sign(key, signed)


def report(key, device, counter, time, ecus, status="installed", reason=None, message="",
           bundle_id=None, bundle_file="fleet.uptane", kind="fleet", clock=None):
    """ecus: list of (serial, target) or (serial, target, attacks) or dicts for ecu_report."""
    reps = []
    for e in ecus:
        if isinstance(e, dict):
            reps.append(ecu_report(key, time=time, counter=counter, **e))
        else:
            serial, target = e[0], e[1]
            attacks = e[2] if len(e) > 2 else ""
            reps.append(ecu_report(key, serial, target, time, attacks=attacks, counter=counter))
    signed = {
        "_type": "device-manifest",
        "device_id": device,
        "primary_ecu": ecus[0][0] if ecus and not isinstance(ecus[0], dict) else "ecu-main",
        "counter": counter,
        "time": {"clock": clock or time, "effective": time},
        "bundle": None if status == "no-bundle" else {
            "file": bundle_file, "kind": kind,
            "id": bundle_id or ("fleet-a:%d" % counter)},
        "medium": {"vendor": "0781", "product": "5583", "serial": "4C530001"},
        "result": {"status": status, "reason": reason, "message": message},
        "ecu_reports": reps,
    }
    return sign(key, signed)


def write(path, doc, pretty=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2 if pretty else None)


def bulk(out, ndev, nrep):
    """NDEV devices x NREP reports each, on one stick: OUTDIR/stick/uptane-reports/<id>/N.json,
    OUTDIR/keys/, OUTDIR/devices.csv."""
    os.makedirs(out + "/keys", exist_ok=True)
    lines = ["device_id,public_key_file,placed_on_market,support_years"]
    for d in range(ndev):
        dev = "VIN-%05d" % d
        key = keygen("%s/keys/%s" % (out, dev))
        lines.append("%s,keys/%s.pub,2024-%02d-01,%d" % (dev, dev, d % 12 + 1, 5 + d % 6))
        for c in range(1, nrep + 1):
            t = "2026-%02d-%02dT%02d:00:00Z" % (c // 28 % 12 + 1, c % 28 + 1, c % 24)
            doc = report(key, dev, c, t,
                         [("ecu-main", "app-%d.bin" % (c // 10)),
                          ("mcu-1", "mcu-fw-%d.bin" % (c // 25))])
            write("%s/stick/uptane-reports/%s/%d.json" % (out, dev, c), doc)
    with open(out + "/devices.csv", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "bulk":
        bulk(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
