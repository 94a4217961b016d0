"""Runs one shell command in the guest over its command channel (tests/vm/overlay vm-shell).

Usage: vmsh.py SOCKET TIMEOUT COMMAND: prints the output, exits with the command's status
(124 on timeout).
"""
import socket
import sys
import time


def main():
    path, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    if "\n" in cmd:  # vm-shell reads one command per line: the rest would answer the next call
        sys.exit("vmsh.py: the command must be one line")
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(cmd.encode() + b"\n")
    buf, end = b"", time.time() + timeout
    while True:
        s.settimeout(max(0.1, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            sys.stdout.write(buf.decode(errors="replace"))
            sys.exit(124)
        if not chunk:
            sys.exit(125)
        buf += chunk
        i = buf.rfind(b"VM-END ")
        if i >= 0 and buf.endswith(b"\n"):
            sys.stdout.write(buf[:i].decode(errors="replace"))
            sys.exit(int(buf[i + 7:].split()[0]))


if __name__ == "__main__":
    main()
