"""QMP client for the vm rig: one command per call over qemu's unix socket.

Usage: qmp.py SOCKET plug ID IMAGE SERIAL [ro]   (blockdev-add + device_add usb-storage)
       qmp.py SOCKET unplug ID                   (device_del, then blockdev-del)
"""
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise SystemExit(f"qmp {name}: {msg['error']['desc']}")
            # an asynchronous event: remember DEVICE_DELETED for unplug
            if msg.get("event") == "DEVICE_DELETED":
                self.deleted = msg["data"].get("device")


def main():
    q = Qmp(sys.argv[1])
    op, dev = sys.argv[2], sys.argv[3]
    if op == "plug":
        image, serial = sys.argv[4], sys.argv[5]
        ro = len(sys.argv) > 6 and sys.argv[6] == "ro"
        # A node per plug-in (the id names both), so a stick can be pulled and put back.
        q.cmd("blockdev-add", **{"node-name": dev, "driver": "raw", "read-only": ro,
              "file": {"driver": "file", "filename": image, "read-only": ro}})
        q.cmd("device_add", driver="usb-storage", id=dev, drive=dev, bus="xhci.0",
              serial=serial, removable=True)
    elif op == "unplug":
        q.deleted = None
        q.cmd("device_del", id=dev)
        end = time.time() + 30
        while q.deleted != dev and time.time() < end:
            q.s.settimeout(max(0.1, end - time.time()))
            try:
                msg = json.loads(q.f.readline())
            except (socket.timeout, ValueError):
                break
            if msg.get("event") == "DEVICE_DELETED" and msg["data"].get("device") == dev:
                q.deleted = dev
        q.s.settimeout(None)
        q.cmd("blockdev-del", **{"node-name": dev})
    else:
        raise SystemExit("usage: qmp.py SOCKET plug|unplug ID ...")


if __name__ == "__main__":
    main()
