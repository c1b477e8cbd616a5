#!/usr/bin/env python3
"""Time from spawning `canopy serve` to its first successful `GET /canopy/v1/health` (HTTP 200),
polled in a tight loop on a raw socket. Prints median and max over RUNS runs.

Usage: startup.py CANOPY_BIN LABEL RUNS DBSPEC|fresh-file [extra serve args...]
DBSPEC `fresh-file` means a new empty directory for every run (the first start creates the database).
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /canopy/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def one(binary, db, extra):
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "data/") if db == "fresh-file" else db
        t0 = time.perf_counter()
        p = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--database", spec, *extra],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not healthy(port):
                if p.poll() is not None:
                    raise SystemExit(f"startup: canopy exited with {p.returncode}")
                if time.perf_counter() - t0 > 10:
                    raise SystemExit("startup: not healthy within 10 s")
            return (time.perf_counter() - t0) * 1000
        finally:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    binary, label, runs, db, *extra = sys.argv[1:]
    times = [one(binary, db, extra) for _ in range(int(runs))]
    print(f"| {label} | {statistics.median(times):.1f} ms | {max(times):.1f} ms | {min(times):.1f} ms |")


if __name__ == "__main__":
    main()
