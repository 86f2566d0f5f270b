#!/usr/bin/env python3
"""Slow readers of a large metrics body, and the exporter's memory meanwhile.

Opens --readers connections, one every --every seconds (so that they start
on different snapshots), each with a tiny receive window, asking for the
metrics path and never reading the answer; holds them for --hold seconds
while sampling the exporter's resident memory (--pid) once a second, then
closes them all.  The exporter should sample often (1 s) so that snapshots
change under the readers.

    bench/slowreaders.py --port 10308 --pid $(pidof streamkpi_exporter)

Prints one JSON object: body size, RSS before and at most, answers seen
(200 or 503) in the first bytes each reader received.
"""
import argparse
import http.client
import json
import socket
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(port, pid, readers=256, every=0.2, hold=30.0, path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    body = c.getresponse().read()
    c.close()
    before = peak = rss_kb(pid)
    socks = []
    try:
        for _ in range(readers):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", port))
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            socks.append(s)
            peak = max(peak, rss_kb(pid))
            time.sleep(every)
        end = time.monotonic() + hold
        while time.monotonic() < end:
            peak = max(peak, rss_kb(pid))
            time.sleep(1)
        statuses = {}
        for s in socks:
            s.settimeout(2)
            try:
                first = s.recv(16)
            except OSError:
                first = b""
            code = first[9:12].decode() if first.startswith(b"HTTP/1.1 ") else "none"
            statuses[code] = statuses.get(code, 0) + 1
    finally:
        for s in socks:
            s.close()
    return {"body_bytes": len(body), "readers": readers, "rss_before_mb": round(before / 1024, 1),
            "rss_peak_mb": round(peak / 1024, 1), "first_status": statuses}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--readers", type=int, default=256)
    ap.add_argument("--every", type=float, default=0.2)
    ap.add_argument("--hold", type=float, default=30.0)
    a = ap.parse_args()
    print(json.dumps(run(a.port, a.pid, a.readers, a.every, a.hold)))


if __name__ == "__main__":
    main()
