#!/usr/bin/python3
"""A small udev rule evaluator for the rule test: enough of udev(7) to run
udev/80-uptane-install.rules over recorded property dumps (tests/data/udev/*.properties).

Supported: match keys ACTION, SUBSYSTEM, KERNEL, DEVPATH, DEVTYPE, ENV{..} with == and != (values
are "|"-separated fnmatch globs, an unset property is ""); assignments TAG+=/=, ENV{..}=/+=,
GOTO, LABEL; substitutions %k, $kernel, %%. Anything else is an error, so a rule that starts
using more of udev's language makes this test fail instead of passing vacuously.

usage: udev_match.py RULES PROPERTIES..   prints "<file> <units|->" per dump
"""
import fnmatch
import os
import re
import sys

TOKEN = re.compile(r'\s*([A-Z_]+)(?:\{([^}]*)\})?\s*(==|!=|\+=|-=|:=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "DEVPATH", "DEVTYPE", "ENV"}


def parse(path):
    rules, buf = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if line.endswith("\\"):
            buf += line[:-1]
            continue
        line, buf = (buf + line).strip(), ""
        if not line or line.startswith("#"):
            continue
        toks, pos = [], 0
        while pos < len(line):
            m = TOKEN.match(line, pos)
            if not m:
                raise SystemExit(f"{path}: cannot parse: {line[pos:]!r}")
            toks.append(m.groups()[:4])
            pos = m.end()
        rules.append(toks)
    return rules


def load(path):
    props = {}
    for line in open(path):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        props[k] = v
    return props


def subst(value, props):
    kernel = os.path.basename(props.get("DEVPATH", ""))
    out, i = "", 0
    while i < len(value):
        if value.startswith("%k", i) or value.startswith("$kernel", i):
            out += kernel
            i += 2 if value.startswith("%k", i) else 7
        elif value.startswith("%%", i):
            out += "%"
            i += 2
        elif value[i] in "%$":
            raise SystemExit(f"unsupported substitution in {value!r}")
        else:
            out += value[i]
            i += 1
    return out


def run(rules, props):
    # The dump shows the state after every rule ran; our rule must earn its own results, so
    # what it sets is not taken from the dump.
    env = {k: v for k, v in props.items() if k not in ("TAGS", "CURRENT_TAGS", "SYSTEMD_WANTS")}
    tags = set()
    goto = None
    for toks in rules:
        keys = {k for k, _, _, _ in toks}
        if goto is not None:
            if any(k == "LABEL" and v == goto for k, _, _, v in toks):
                goto = None
            continue
        matched = True
        for key, attr, op, val in toks:
            if op not in ("==", "!="):
                continue
            if key not in MATCH_KEYS:
                raise SystemExit(f"unsupported match key {key}")
            have = env.get(attr, "") if key == "ENV" else env.get(key, "")
            if key == "KERNEL":
                have = os.path.basename(env.get("DEVPATH", ""))
            hit = any(fnmatch.fnmatchcase(have, p) for p in val.split("|"))
            if hit != (op == "=="):
                matched = False
                break
        if not matched:
            continue
        for key, attr, op, val in toks:
            if op in ("==", "!="):
                continue
            if key == "TAG" and op in ("+=", "="):
                tags = ({subst(val, env)} | tags) if op == "+=" else {subst(val, env)}
            elif key == "ENV" and op in ("=", "+="):
                v = subst(val, env)
                env[attr] = (env[attr] + " " + v) if op == "+=" and env.get(attr) else v
            elif key == "GOTO" and op == "=":
                goto = val
            elif key == "LABEL" and op == "=":
                pass
            else:
                raise SystemExit(f"unsupported assignment {key}{op}")
    if goto is not None:
        raise SystemExit(f"GOTO {goto}: no such LABEL")
    # systemd acts on SYSTEMD_WANTS only for devices tagged "systemd" (systemd.device(5)).
    wants = env.get("SYSTEMD_WANTS", "").split() if "systemd" in tags else []
    return wants


def main():
    rules = parse(sys.argv[1])
    for path in sys.argv[2:]:
        wants = run(rules, load(path))
        print(os.path.basename(path), " ".join(wants) or "-")


if __name__ == "__main__":
    main()
