#!/usr/bin/env python3
"""A QEMU wrapper for 61-plan.bats: runs qemu-system-x86_64 with the arguments it
gets, but with its QMP socket moved aside, and serves vcrun's QMP socket itself,
passing every line through except that a device_add of vfio-pci for the fake
host function HOST (argv[1]) becomes an emulated e1000e: so a hot-plug of that
function reaches a real guest. Exits with QEMU's status; QEMU dies with it."""
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

HOST = sys.argv[1]
args = sys.argv[2:]
qmp = None
for i, a in enumerate(args):
    if a.startswith("socket,id=qmp,path="):
        path = a.split("path=", 1)[1].split(",server=")[0].replace(",,", ",")
        qmp = path
        args[i] = a.replace("path=" + path.replace(",", ",,"), "path=" + path + ".r")
if qmp is None:
    os.execvp("qemu-system-x86_64", ["qemu-system-x86_64"] + args)

libc = ctypes.CDLL(None)
child = subprocess.Popen(["qemu-system-x86_64"] + args,
                         preexec_fn=lambda: libc.prctl(1, signal.SIGKILL))  # PR_SET_PDEATHSIG
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, lambda n, f: child.send_signal(n))

lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    os.unlink(qmp)
except FileNotFoundError:
    pass
lsock.bind(qmp)
lsock.listen(16)


def rewrite(line):
    try:
        msg = json.loads(line)
    except ValueError:
        return line
    a = msg.get("arguments") or {}
    if msg.get("execute") == "device_add" and a.get("driver") == "vfio-pci" and a.get("host") == HOST:
        a["driver"] = "e1000e"
        del a["host"]
        return json.dumps(msg).encode() + b"\n"
    return line


def pump(src, dst, change):
    buf = b""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if not change:
                dst.sendall(data)
                continue
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                dst.sendall(rewrite(line + b"\n"))
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(c):
    q = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(200):
        try:
            q.connect(qmp + ".r")
            break
        except OSError:
            time.sleep(0.05)
    else:
        c.close()
        return
    threading.Thread(target=pump, args=(c, q, True), daemon=True).start()
    pump(q, c, False)


def accept():
    while True:
        c, _ = lsock.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


threading.Thread(target=accept, daemon=True).start()
status = child.wait()
try:
    os.unlink(qmp)
except OSError:
    pass
sys.exit(status if status >= 0 else 128 - status)
