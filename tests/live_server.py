"""A real uvicorn process serving XinDa on a free loopback port, for tests that measure
what a TestClient cannot: the server's own memory, concurrent clients, a real socket."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from evals.server_proc import free_port, stop_process

ROOT = Path(__file__).resolve().parent.parent
SERVE = (
    "import sys, uvicorn; from service.api import create_app; "
    "uvicorn.run(create_app(), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')"
)


@dataclass(frozen=True)
class LiveServer:
    """Where the server listens and how to look at its process."""

    url: str
    pid: int

    def rss_mb(self) -> float:
        """Resident memory of the server process, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS line")


@contextmanager
def serve(home: Path, **env: str) -> Iterator[LiveServer]:
    """Start `create_app()` under uvicorn with XINDA_HOME=home and XINDA_* overrides."""
    port = free_port()
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XINDA_HOME": str(home),
        "XINDA_LLM": "extractive",
        **{f"XINDA_{k.upper()}": v for k, v in env.items()},
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port)],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"server exited: {err[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 300 s")
            time.sleep(0.5)
        yield LiveServer(url, proc.pid)
    finally:
        stop_process(proc, timeout_s=20)
