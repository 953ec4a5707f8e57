"""`make soak`: a timed mixed load (default 10 minutes, 8 clients) against a live server
over the XINDA_HOME index; prints errors, p50/p99 and the server's memory growth."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_server import serve  # noqa: E402
from load_run import run_load  # noqa: E402


def main() -> int:
    home = Path(os.environ.get("XINDA_HOME", ".xinda")).resolve()
    seconds = float(os.environ.get("SOAK_SECONDS", "600"))
    clients = int(os.environ.get("SOAK_CLIENTS", "8"))
    with serve(home) as server:
        run_load(server.url, clients=1, requests_each=4)
        before = server.rss_mb()
        result = run_load(server.url, clients=clients, seconds=seconds)
        growth = server.rss_mb() - before
    print(f"soak {seconds:.0f} s × {clients} clients: {result.line()}; RSS growth {growth:+.1f} MB")
    for error in result.errors[:10]:
        print("  error:", error)
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
