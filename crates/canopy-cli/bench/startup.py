#!/usr/bin/env python3
"""Measures the time from spawning `canopy serve` to its first successful health answer.

Usage: startup.py [PATH_TO_CANOPY] [RUNS] [-- extra serve args]
Default binary: $CARGO_TARGET_DIR/release/canopy (or target/release/canopy). Target: < 100 ms.
"""
import os, socket, subprocess, sys, tempfile, time

args = sys.argv[1:]
extra = []
if "--" in args:
    i = args.index("--")
    args, extra = args[:i], args[i + 1:]
target = os.environ.get("CARGO_TARGET_DIR", "target")
binary = args[0] if args else os.path.join(target, "release", "canopy")
runs = int(args[1]) if len(args) > 1 else 10


def health(addr):
    host, port = addr.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1) as s:
            s.sendall(b"GET /canopy/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def one(database):
    start = time.perf_counter()
    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--database", database, *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = p.stdout.readline()
        addr = line.split("http://", 1)[1].split()[0]
        while not health(addr):
            if time.perf_counter() - start > 5:
                raise SystemExit("not healthy within 5 s")
        return (time.perf_counter() - start) * 1000
    finally:
        p.terminate()
        p.wait()


for label, make_db in [("memory", lambda: "memory"), ("sqlite file (fresh dir)", lambda: tempfile.mkdtemp() + "/data/")]:
    times = sorted(one(make_db()) for _ in range(runs))
    print(f"{label:26} spawn→healthy over {runs} runs: median {times[len(times) // 2]:.1f} ms, "
          f"max {times[-1]:.1f} ms (target < 100 ms)")
