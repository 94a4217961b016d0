"""Independent side of tests/cli/sig_interop.sh: Debian's python3-securesystemslib (0.26) and
PyNaCl. Run with /usr/bin/python3 (the pyenv python on PATH cannot see Debian's packages).

  ssl_helper.py keyid PUBFILE                 sha256 of the canonical key object, as it is
  ssl_helper.py import-ours KEY PUB           securesystemslib reads our key files
  ssl_helper.py ours-root OUT PUB...          unsigned root listing our .pub objects verbatim
  ssl_helper.py docs DIR N                    N unsigned documents with awkward strings
  ssl_helper.py verify-ours FILE PUB...       every PUB has a valid signature on FILE
                                              (securesystemslib and PyNaCl both say so), and
                                              the same signatures fail on a tampered copy
  ssl_helper.py ssl-keys DIR N                DIR/ssl0..N-1 (+ .pub), securesystemslib's writer
  ssl_helper.py ssl-root OUT THRESHOLD NSIGN KEY...
                                              root listing the keys in securesystemslib's
                                              metadata form, signed by the first NSIGN
  ssl_helper.py ssl-targets OUT KEY           a targets file signed by KEY
  ssl_helper.py verify-ssl FILE KEY...        every KEY (their key id) signed FILE
  ssl_helper.py tamper IN OUT                 version + 1, signatures kept
"""
import hashlib
import json
import os
import random
import sys

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from securesystemslib import interface, keys
from securesystemslib.formats import encode_canonical


def canon(obj):
    return encode_canonical(obj).encode("utf-8")


def keyid(obj):
    return hashlib.sha256(canon(obj)).hexdigest()


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def common(typ, version=1):
    return {"_type": typ, "spec_version": "1.0.31", "version": version,
            "expires": "2031-01-01T00:00:00Z"}


def root_signed(keymap, ids, threshold):
    s = common("root")
    s["consistent_snapshot"] = False
    s["keys"] = keymap
    s["roles"] = {r: {"keyids": ids, "threshold": threshold}
                  for r in ("root", "timestamp", "snapshot", "targets")}
    # awkward strings: the canonical bytes must agree to the byte
    s["x-note"] = 'quote " backslash \\ slash / unicode \u00e9\u20ac\U0001f600 \u2028'
    return s


def write(path, env, pretty=True):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(env, f, indent=2 if pretty else None, ensure_ascii=pretty)


def verify_both(pub_hex, sig_hex, data, sig_keyid):
    key_dict = {"keytype": "ed25519", "scheme": "ed25519", "keyid": sig_keyid,
                "keyval": {"public": pub_hex}}
    ok_ssl = keys.verify_signature(key_dict, {"keyid": sig_keyid, "sig": sig_hex}, data)
    try:
        VerifyKey(bytes.fromhex(pub_hex)).verify(data, bytes.fromhex(sig_hex))
        ok_nacl = True
    except BadSignatureError:
        ok_nacl = False
    if ok_ssl != ok_nacl:
        sys.exit("securesystemslib and PyNaCl disagree")
    return ok_ssl


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "keyid":
        print(keyid(load(args[0])))
    elif cmd == "import-ours":
        priv = interface.import_ed25519_privatekey_from_file(args[0])
        pub = load(args[1])
        if priv["keyval"]["public"] != pub["keyval"]["public"]:
            sys.exit("public halves differ")
        # and it signs: a signature from their side over some bytes verifies with PyNaCl
        priv["keyid"] = keyid(pub)
        sig = keys.create_signature(priv, b"interop")
        VerifyKey(bytes.fromhex(pub["keyval"]["public"])).verify(
            b"interop", bytes.fromhex(sig["sig"]))
    elif cmd == "ours-root":
        pubs = [load(p) for p in args[1:]]
        ids = [keyid(p) for p in pubs]
        write(args[0], {"signed": root_signed(dict(zip(ids, pubs)), ids, len(ids)),
                        "signatures": []})
    elif cmd == "docs":
        random.seed(20261128)
        alphabet = ['a', 'Z', '0', ' ', '"', '\\', '/', 'é', 'ß', '€', '😀', '\u2028', '{', ':']
        for i in range(int(args[1])):
            s = common("targets", i + 1)
            s["targets"] = {}
            for j in range(random.randint(0, 4)):
                name = "fw/%d-%s.bin" % (j, "".join(random.choice("abc") for _ in range(3)))
                s["targets"][name] = {"length": random.randint(0, 2**40),
                                      "hashes": {"sha256": os.urandom(32).hex()},
                                      "custom": {"releaseCounter": random.randint(0, 2**62)}}
            s["x-text"] = "".join(random.choice(alphabet) for _ in range(random.randint(0, 30)))
            s["x-int"] = random.choice([-2**63, 2**63 - 1, 0, -1])
            write(os.path.join(args[0], "%d.json" % i), {"signed": s, "signatures": []},
                  pretty=bool(i % 2))
    elif cmd == "verify-ours":
        env = load(args[0])
        data = canon(env["signed"])
        tampered = dict(env["signed"], version=env["signed"]["version"] + 1)
        for p in args[1:]:
            pub = load(p)
            kid = keyid(pub)
            sigs = [s for s in env["signatures"] if s["keyid"] == kid]
            if len(sigs) != 1:
                sys.exit("%s: %d signatures by %s" % (args[0], len(sigs), kid))
            if not verify_both(pub["keyval"]["public"], sigs[0]["sig"], data, kid):
                sys.exit("%s: signature by %s does not verify" % (args[0], kid))
            if verify_both(pub["keyval"]["public"], sigs[0]["sig"], canon(tampered), kid):
                sys.exit("oracle accepted a tampered document")
    elif cmd == "ssl-keys":
        for i in range(int(args[1])):
            interface.generate_and_write_unencrypted_ed25519_keypair(
                filepath=os.path.join(args[0], "ssl%d" % i))
    elif cmd in ("ssl-root", "ssl-targets"):
        if cmd == "ssl-root":
            out, threshold, nsign, paths = args[0], int(args[1]), int(args[2]), args[3:]
        else:
            out, threshold, nsign, paths = args[0], 1, 1, args[1:]
        privs = [interface.import_ed25519_privatekey_from_file(p) for p in paths]
        pubs = [interface.import_ed25519_publickey_from_file(p + ".pub") for p in paths]
        # the key object as TUF metadata written with securesystemslib holds it
        meta = {k["keyid"]: keys.format_keyval_to_metadata(k["keytype"], k["scheme"],
                                                            k["keyval"])
                for k in pubs}
        for kid, obj in meta.items():
            assert keyid(obj) == kid, "securesystemslib's own key id rule changed"
        ids = [k["keyid"] for k in pubs]
        if cmd == "ssl-root":
            s = root_signed(meta, ids, threshold)
        else:
            s = common("targets")
            s["targets"] = {"fw.bin": {"length": 3, "hashes": {
                "sha256": hashlib.sha256(b"abc").hexdigest(),
                "sha512": hashlib.sha512(b"abc").hexdigest()}}}
            s["delegations"] = {"keys": meta, "roles": [
                {"name": "vendor", "keyids": ids, "threshold": 1, "paths": ["vendor/*"],
                 "terminating": False}]}
        sigs = []
        for priv, pub in list(zip(privs, pubs))[:nsign]:
            priv["keyid"] = pub["keyid"]
            sigs.append(keys.create_signature(priv, canon(s)))
        write(out, {"signed": s, "signatures": sigs})
    elif cmd == "verify-ssl":
        env = load(args[0])
        data = canon(env["signed"])
        for p in args[1:]:
            pub = interface.import_ed25519_publickey_from_file(p + ".pub")
            sigs = [s for s in env["signatures"] if s["keyid"] == pub["keyid"]]
            if len(sigs) != 1 or not keys.verify_signature(pub, sigs[0], data):
                sys.exit("%s: no valid signature by %s" % (args[0], pub["keyid"]))
    elif cmd == "tamper":
        env = load(args[0])
        env["signed"]["version"] += 1
        write(args[1], env)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
