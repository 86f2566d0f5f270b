#!/usr/bin/env python3
"""Slow-client load against a running exporter, and what a scraper sees.

Opens up to --conns connections spread over --ips loopback source addresses
(127.0.0.2 and up), each sending a request head one byte at a time and never
finishing it; a connection the server closes is opened again (at most
--max-opens in all).  Meanwhile a scraper on 127.0.0.1 asks for the metrics
path --scrapes times, one after the other, each with a 10 s limit, and the
latency of every answer is recorded.  Everything opened is closed at the end.

    bench/slowloris.py --port 10308 --conns 1000 --ips 16 --scrapes 12

Prints one JSON object: answers, failures, latency max/median, slow
connections held at the end, reopenings.
"""
import argparse
import http.client
import json
import selectors
import socket
import statistics
import threading
import time

HEAD = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: "


def _open(port, src):
    s = socket.socket()
    s.setblocking(False)
    s.bind((src, 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def attack(port, conns, ips, max_opens, stop, stats):
    """Keeps up to conns slow connections open until stop is set."""
    sel = selectors.DefaultSelector()
    socks = {}
    opens = 0

    def add(i):
        nonlocal opens
        if opens >= max_opens:
            return
        src = f"127.0.0.{2 + i % ips}"
        try:
            s = _open(port, src)
        except OSError:
            return
        opens += 1
        socks[s] = [i, 0]
        sel.register(s, selectors.EVENT_READ)

    def drop(s):
        sel.unregister(s)
        socks.pop(s, None)
        s.close()

    for i in range(conns):
        add(i)
    while not stop.is_set():
        # One byte on every connection per round; a round is about 1 s.
        for s, st in list(socks.items()):
            try:
                ch = HEAD[st[1]:st[1] + 1] or b"a"
                s.send(ch)
                st[1] += 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                i = st[0]
                drop(s)
                stats["reopened"] += 1
                add(i)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and not stop.is_set():
            for key, _ in sel.select(timeout=0.1):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    i = socks[s][0]
                    drop(s)
                    stats["reopened"] += 1
                    add(i)
    stats["held_at_end"] = len(socks)
    stats["opens"] = opens
    for s in list(socks):
        drop(s)
    sel.close()


def scrape(port, path, timeout=10):
    """Returns (status, seconds) of one GET from 127.0.0.1, status 0 on error."""
    t0 = time.monotonic()
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                       source_address=("127.0.0.1", 0))
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, time.monotonic() - t0
    except OSError:
        return 0, time.monotonic() - t0


def run(port, conns=1000, ips=16, scrapes=12, warmup=3.0, max_opens=20000, path="/metrics"):
    stop = threading.Event()
    stats = {"reopened": 0, "held_at_end": 0, "opens": 0}
    t = threading.Thread(target=attack, args=(port, conns, ips, max_opens, stop, stats))
    t.start()
    try:
        time.sleep(warmup)  # let the slow connections pile up first
        results = [scrape(port, path) for _ in range(scrapes)]
    finally:
        stop.set()
        t.join(timeout=60)
    lat = [d for s, d in results if s == 200]
    return {
        "slow_connections": conns,
        "source_addresses": ips,
        "scrapes": scrapes,
        "answers_200": len(lat),
        "statuses": [s for s, _ in results],
        "latency_max_s": round(max(lat), 3) if lat else None,
        "latency_median_s": round(statistics.median(lat), 3) if lat else None,
        "slow_held_at_end": stats["held_at_end"],
        "slow_reopened": stats["reopened"],
        "slow_opens": stats["opens"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--ips", type=int, default=16)
    ap.add_argument("--scrapes", type=int, default=12)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--path", default="/metrics")
    a = ap.parse_args()
    print(json.dumps(run(a.port, a.conns, a.ips, a.scrapes, a.warmup, path=a.path)))


if __name__ == "__main__":
    main()
