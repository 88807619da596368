"""Load test of ``serve.py --http``: N keep-alive clients for T seconds.

Starts ``serve.py MODEL --http --port 0`` as a subprocess, then for each
concurrency N runs N client threads, each with one persistent HTTP/1.1
connection, posting ``:predict`` requests of ``--sentences`` real sentences
(CoNLL-2003 dev text read at run time from ``../shared/data``, or the
example file) for ``--seconds``. Reports requests/s, sentences/s, p50/p99
latency, errors and the server's resident memory before and after each
round. Standard library only (the server is the one under test).

    python bench/load.py models/ner-conll2003 --clients 1 16 64 --seconds 60
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sentences() -> list[str]:
    dev = ROOT.parent / "shared" / "data" / "conll2003" / "eng.testa"
    if dev.is_file():
        found, current = [], []
        for line in dev.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("-DOCSTART-"):
                if current:
                    found.append(" ".join(current))
                current = []
            else:
                current.append(line.split()[0])
        return found
    return (ROOT / "examples" / "news.txt").read_text(encoding="utf-8").split(". ")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(model: str) -> tuple[subprocess.Popen, str, int]:
    server = subprocess.Popen([sys.executable, str(ROOT / "serve.py"), model, "--http",
                               "--port", "0", "--quiet"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    for line in server.stderr:
        if "listening on" in line:
            url = line.strip().rsplit(" ", 1)[-1]
            host, port = url.removeprefix("http://").rsplit(":", 1)
            threading.Thread(target=server.stderr.read, daemon=True).start()  # drain
            return server, host, int(port)
    raise RuntimeError("the server did not start")


def client(host, port, name, pool, size, stop_at, latencies, errors, seed):
    rng = random.Random(seed)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    while time.perf_counter() < stop_at:
        body = json.dumps({"instances": rng.sample(pool, size)})
        started = time.perf_counter()
        kind = None
        try:
            conn.request("POST", f"/v1/models/{name}:predict", body=body,
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                kind = f"status {response.status}"
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as error:
            kind = type(error).__name__
            conn.close()
        latencies.append(time.perf_counter() - started)
        if kind:
            errors.append(kind)
    conn.close()


def round_of(host, port, name, pool, clients, seconds, size, pid) -> dict:
    latencies, errors = [], []
    rss_before = rss_mb(pid)
    stop_at = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(host, port, name, pool, size, stop_at,
                                                     latencies, errors, i))
               for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"clients": clients, "seconds": round(wall, 1), "requests": len(latencies),
            "requests_per_second": round(len(latencies) / wall, 1),
            "sentences_per_second": round(len(latencies) * size / wall, 1),
            "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
            "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1) if ordered
            else None,
            "errors": len(errors), "error_kinds": {k: errors.count(k) for k in set(errors)},
            "rss_mb_start": round(rss_before, 1),
            "rss_mb_end": round(rss_mb(pid), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="model folder, e.g. models/ner-conll2003")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sentences", type=int, default=8, help="sentences per request")
    args = parser.parse_args()
    pool = sentences()
    server, host, port = start_server(args.model)
    name = Path(args.model).resolve().name
    if name.isdigit():
        name = Path(args.model).resolve().parent.name
    try:
        round_of(host, port, name, pool, 2, 3, args.sentences, server.pid)  # warm up
        results = [round_of(host, port, name, pool, n, args.seconds, args.sentences,
                            server.pid) for n in args.clients]
    finally:
        server.terminate()
        server.wait(timeout=60)
    for row in results:
        row["rss_growth"] = round(row["rss_mb_end"] / row["rss_mb_start"] - 1, 4)
    print(json.dumps({"model": args.model, "sentences_per_request": args.sentences,
                      "rounds": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
