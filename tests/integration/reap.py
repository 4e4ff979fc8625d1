#!/usr/bin/env python3
"""reap.py PIDFILE CMD...: runs CMD as a child subreaper, so that the process named
in PIDFILE (a container's pid, left behind by `create`) becomes our child; once CMD
has exited, waits for that pid and prints how it ended, as a shell would read the
wait status: "exit N" or "signal N" ("no pid file" when CMD wrote none). CMD's own
status is our exit status."""
import ctypes
import os
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36

libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("reap.py: prctl: " + os.strerror(ctypes.get_errno()))
rc = subprocess.call(sys.argv[2:])
try:
    with open(sys.argv[1]) as f:
        pid = int(f.read())
except FileNotFoundError:
    # CMD failed before it named a pid: nothing to wait for
    print("no pid file")
    sys.exit(rc)
_, st = os.waitpid(pid, 0)
if os.WIFSIGNALED(st):
    print("signal", os.WTERMSIG(st))
else:
    print("exit", os.WEXITSTATUS(st))
sys.exit(rc)
