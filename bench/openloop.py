"""An open-loop load generator: N requests per second on schedule, whatever the server does.

wrk (Debian's wrk 4.1; wrk2 is not packaged) only runs closed loops: a connection sends its
next request when the last answer arrives, so a slow answer delays the requests behind it
and they are never timed ("coordinated omission"). wrk's Lua `delay()` only spaces the
requests of each connection, which is the same closed loop. Here request i is due at start + i/rate,
sent on its own connection (gunicorn's sync workers close each connection after one
answer anyway), and its latency runs from when it was due, not from when it was sent, so a
stall shows up in the percentiles instead of vanishing from them. Percentiles count the
answered requests; the rest are listed by what went wrong (e.g. a timeout after 10 s).

    python bench/openloop.py URL --rate 100 --seconds 15 [--bodies FILE --key FILE]
"""

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

TIMEOUT = 10.0  # seconds; an answer later than this counts as an error


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def http_request(method: str, host: str, path: str, body: bytes, headers: dict) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _one(host: str, port: int, payload: bytes, due: float, record: list) -> None:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(payload)
            await writer.drain()
            answer = await reader.read()  # to the end: the server closes the connection
            writer.close()
        status = str(int(answer[9:12])) if answer.startswith(b"HTTP/1.") else "no answer"
    except TimeoutError:
        status = f"timeout {TIMEOUT:g} s"
    except (OSError, ValueError) as exc:
        status = type(exc).__name__
    record.append((status, loop.time() - due))


async def _run(url: str, rate: float, seconds: float, payloads: list[bytes]) -> dict:
    parts = urlsplit(url)
    loop = asyncio.get_running_loop()
    record: list[tuple[str, float]] = []
    tasks = []
    total = int(rate * seconds)
    start = loop.time() + 0.05
    for i in range(total):
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        tasks.append(asyncio.create_task(
            _one(parts.hostname, parts.port, payloads[i % len(payloads)], due, record)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    statuses = Counter(status for status, _ in record)
    latencies = sorted(latency for status, latency in record if status.isdigit())
    return {"rate": rate, "sent": total, "answered": len(latencies),
            "answered_per_s": round(len(latencies) / elapsed, 1),
            "statuses": dict(sorted(statuses.items())),
            "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
            "p90_ms": round(percentile(latencies, 0.90) * 1000, 2),
            "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
            "max_ms": round((latencies[-1] if latencies else 0) * 1000, 2)}


def run(url: str, *, rate: float, seconds: float, method: str = "POST",
        bodies: list[str] | None = None, headers: dict | None = None) -> dict:
    """Send `rate` requests per second for `seconds` to `url`; return counts and percentiles.

    With `bodies`, request i carries body i (rotating); without, the path gets "/i" appended
    (the floor app's rotating item).
    """
    parts = urlsplit(url)
    host = parts.netloc
    headers = headers or {}
    if bodies:
        payloads = [http_request(method, host, parts.path, body.encode(), headers)
                    for body in bodies]
    else:
        payloads = [http_request(method, host, f"{parts.path}/{i}", b"", headers)
                    for i in range(int(rate * seconds))]
    return asyncio.run(_run(url, rate, seconds, payloads))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--bodies", type=Path, help="one JSON body per line")
    parser.add_argument("--key", type=Path, help="a file holding a bearer key")
    args = parser.parse_args()
    headers = {"Content-Type": "application/json"}
    if args.key:
        headers["Authorization"] = f"Bearer {args.key.read_text().strip()}"
    bodies = args.bodies.read_text().splitlines() if args.bodies else None
    started = time.perf_counter()
    result = run(args.url, rate=args.rate, seconds=args.seconds, bodies=bodies, headers=headers)
    print(json.dumps(result | {"wall_s": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
