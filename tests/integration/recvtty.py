#!/usr/bin/env python3
"""recvtty.py SOCKET OUT [INPUT]: a console socket as containerd or conmon offers one.

Accepts one connection on the Unix socket SOCKET, receives the pty master that the
runtime sends with SCM_RIGHTS, writes INPUT to it (after a short pause, so the
process is reading), and copies everything the master gives into OUT until the
other side closes. Exits 0 once a master was received.
"""
import array
import os
import socket
import sys
import time


def main():
    path, out = sys.argv[1], sys.argv[2]
    data = sys.argv[3].encode() if len(sys.argv) > 3 else b""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(120)
    conn, _ = srv.accept()
    _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    if not fds:
        print("recvtty: no fd received", file=sys.stderr)
        return 1
    master = fds[0]
    with open(out, "wb", buffering=0) as f:
        sent = not data
        start = time.monotonic()
        while True:
            if not sent and time.monotonic() - start > 1.0:
                os.write(master, data)
                sent = True
            try:
                import select
                r, _, _ = select.select([master], [], [], 0.2)
                if not r:
                    continue
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            f.write(chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
