"""The power-cut trials' host side (tests/vm/cases/70-powercut.bash).

cut SERIAL PID DELAY TIMEOUT
    Waits for the guest's "PC-GO" on the serial log, then SIGKILLs qemu (PID) DELAY seconds
    later: the guest's page cache dies with it, what it had written to its disks stays. With
    DELAY < 0 nothing is killed: the install runs to its end (the timing run). Prints one line:
    "killed<TAB>ELAPSED<TAB>PHASE<TAB>WHAT" or "finished ELAPSED SYNC_FROM SYNC_TO" (seconds
    since PC-GO; for a finished run the install's own duration, up to its result event, and
    the window from the last image streamed to the first activation: fsyncs and journal).
check SERIAL HASHES CUR
    Reads one boot's report of what survived (the PC- lines of vm-powercut-init) and decides:
    the device must run version CUR (old) or CUR + 1 (new) on both ECUs, with the bytes of
    exactly that version (HASHES: JSON {version: {"main": sha256, "fw": sha256}}), the boot
    slot holding it, and a state directory that loads. Prints "old V", "new V" (and whether
    status had to complete an interrupted commit) or "mix: WHY" (exit 1).
"""
import json
import os
import signal
import sys
import time


def lines(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace").replace("\r", "").split("\n")


def phase(text):
    """What the power cut interrupted, from the installer's events before it: a phase
    (verify, stream, sync, activate, after) and the last event, shortly."""
    events = []
    for line in text:
        i = line.find('{"event"')
        if i < 0:
            continue
        try:
            events.append(json.loads(line[i:]))
        except ValueError:
            continue  # a kernel message cut into the line
    if any(l.startswith("PC-DONE ") for l in text) or any(e["event"] == "result" for e in events):
        return "after", "the install had ended"
    if not events:
        return "verify", "before the first event (opening the bundle)"
    last = events[-1]
    if any(e["event"] == "report" for e in events):
        return "after", "the commit had ended (report written)"
    installed = [e["ecu"] for e in events if e["event"] == "installed"]
    if installed:
        return "activate", "after installed %s (journal written, activating)" % ", ".join(installed)
    images = next((e["images"] for e in events if e["event"] == "verified"), None)
    if images is None:
        return "verify", "verifying the metadata (after %s)" % last["event"]
    done = {e["ecu"] for e in events if e["event"] == "progress" and e["bytes"] == e["total"]}
    if len(done) < images:
        if last["event"] == "progress":
            return "stream", "streaming %s at %d/%d bytes" % (last["ecu"], last["bytes"], last["total"])
        return "stream", "streaming (after %s)" % last["event"]
    return "sync", "all images streamed (fsync, hashes, state and journal written)"


def cut(serial, pid, delay, timeout):
    deadline = time.monotonic() + timeout
    t0 = None
    while time.monotonic() < deadline:
        text = lines(serial)
        go = [i for i, l in enumerate(text) if l.startswith("PC-GO ")]
        if go:
            t0 = time.monotonic()
            break
        if not alive(pid):
            print("error qemu exited before PC-GO")
            return 1
        time.sleep(0.002)
    if t0 is None:
        print("error no PC-GO within %d s" % timeout)
        return 1
    first = go[0]
    if delay < 0:
        end = None
        seen = {}  # phase -> when it was first seen
        while time.monotonic() < deadline and alive(pid):
            text = lines(serial)[first:]
            seen.setdefault(phase(text)[0], time.monotonic() - t0)
            if end is None and any(l.startswith('{"event":"result"') for l in text):
                end = time.monotonic() - t0
            if any(l.startswith("PC-DONE ") for l in text):
                break
            time.sleep(0.002)
        if end is None:
            print("error the install did not finish")
            return 1
        # the fsync-and-journal window (all images streamed .. the first activation)
        s0 = seen.get("sync", end)
        s1 = seen.get("activate", end)
        print("finished %.3f %.3f %.3f" % (end, s0, max(s1, s0)))
        return 0
    while time.monotonic() < t0 + delay and alive(pid):
        time.sleep(0.0005)
    at = time.monotonic() - t0
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    ph, what = phase(lines(serial)[first:])
    print("killed\t%.3f\t%s\t%s" % (at, ph, what))
    return 0


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (qemu exited, not reaped yet) is gone too
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def version(target, prefix):
    if target is None:
        return 0
    name = target["target"]
    assert name.startswith(prefix) and name.endswith(".bin"), name
    return int(name[len(prefix):-4])


def check(serial, hashes_path, cur):
    text = lines(serial)
    hashes = {int(k): v for k, v in json.load(open(hashes_path)).items()}
    pc = {}
    status = None
    for line in text:
        if line.startswith("PC-STATUS {"):
            try:
                o = json.loads(line[len("PC-STATUS "):])
            except ValueError:
                continue
            if o.get("event") == "status":
                status = o
        elif line.startswith("PC-"):
            k, _, v = line.partition(" ")
            if k == "PC-HASH":
                k, _, v = ("PC-HASH-" + v).partition(" ")
            pc.setdefault(k, v)
    if "PC-ERROR" in pc:
        return "mix: the guest could not run the check: " + pc["PC-ERROR"]
    if pc.get("PC-STATUS-EXIT") != "0" or status is None:
        return "mix: the state directory does not load (status exit %s)" % pc.get("PC-STATUS-EXIT")
    ecus = {e["serial"]: e for e in status["ecus"]}
    main, fw = ecus["pc-main"], ecus["pc-fw"]
    v = version(main["installed"], "pc-main-")
    fw_v = version(fw["pending"] or fw["installed"], "pc-fw-")
    if v != fw_v:
        return "mix: the state records pc-main %d but pc-fw %d" % (v, fw_v)
    if v not in (cur, cur + 1):
        return "mix: the state records version %d, neither old %d nor new %d" % (v, cur, cur + 1)
    if pc.get("PC-HASH-main") != hashes[v]["main"]:
        return "mix: /opt/app/main.bin does not hold pc-main-%d (state says so)" % v
    boot = pc.get("PC-BOOTSLOT")
    slot = fw["pending_slot"] if fw["pending"] else fw["active_slot"]
    if boot != str(slot):
        return "mix: the bootloader points at slot %s, the state at slot %d" % (boot, slot)
    if pc.get("PC-HASH-slot%d" % slot) != hashes[fw_v]["fw"]:
        return "mix: slot %d does not hold pc-fw-%d (state and bootloader say so)" % (slot, fw_v)
    if fw["pending"]:
        old = version(fw["installed"], "pc-fw-")
        if pc.get("PC-HASH-slot%d" % fw["active_slot"]) != hashes[old]["fw"]:
            return "mix: the fallback slot %d no longer holds pc-fw-%d" % (fw["active_slot"], old)
        if pc.get("PC-CONFIRM-EXIT") != "0":
            return "mix: confirm of the pending slot failed (exit %s)" % pc.get("PC-CONFIRM-EXIT")
    rolled = any(l.startswith("PC-STATUS ") and '"code":"recovering"' in l for l in text)
    note = " (status completed the interrupted commit)" if rolled else ""
    return ("old %d%s" if v == cur else "new %d%s") % (v, note)


def main():
    if sys.argv[1] == "cut":
        sys.exit(cut(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])))
    if sys.argv[1] == "check":
        out = check(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        print(out)
        sys.exit(1 if out.startswith("mix") else 0)
    sys.exit("usage: powercut.py cut|check ...")


if __name__ == "__main__":
    main()
