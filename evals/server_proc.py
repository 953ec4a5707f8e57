"""`xinda serve` as a child process on a free loopback port, for benchmarks that measure
what an in-process client cannot: a real socket, concurrent clients, the server's memory.

The child is the command users run (API and web UI in one process), so its peak memory
is that of a real deployment. Its log goes to a file, not a pipe: a pipe nobody reads
fills up after 64 KiB of access-log lines and then blocks the server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 300.0


class ServerFailed(RuntimeError):
    """The server process exited or did not become ready; the message holds its log tail."""


@dataclass(frozen=True)
class ServerProcess:
    """Where the server listens and how to read its memory."""

    url: str
    pid: int
    started_s: float  # seconds from spawn until /readyz answered 200

    def memory_mb(self, field: str = "VmHWM") -> float:
        """A memory line of /proc/<pid>/status in MiB: VmHWM (peak resident) or VmRSS."""
        return proc_status_mb(Path(f"/proc/{self.pid}/status").read_text(), field)

    def cpu_s(self) -> float:
        """User + system CPU seconds the server process has used so far."""
        return proc_stat_cpu_s(Path(f"/proc/{self.pid}/stat").read_text())


def proc_stat_cpu_s(stat: str) -> float:
    """utime + stime of a /proc/<pid>/stat text, in seconds."""
    # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_mb(status: str, field: str) -> float:
    """Parse `field` (a kB figure) out of a /proc/<pid>/status text, in MiB."""
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no {field} line in the process status")


def free_port() -> int:
    """A port nobody listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(home: Path, env: Mapping[str, str] | None = None) -> Iterator[ServerProcess]:
    """Run `xinda serve` over XINDA_HOME=home with extra `env`; stop it on exit."""
    port = free_port()
    full_env = {
        **os.environ,
        # This checkout's packages first, also when the venv holds an editable install
        # of another checkout.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "XINDA_HOME": str(home),
        **(env or {}),
    }
    command = [sys.executable, "-m", "ui.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with tempfile.TemporaryFile("w+b") as log:
        started = time.monotonic()
        proc = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(proc, url, log)
            yield ServerProcess(url, proc.pid, time.monotonic() - started)
        finally:
            stop_process(proc, timeout_s=30)


def stop_process(proc: subprocess.Popen[Any], timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout_s`."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise ServerFailed(f"xinda serve exited with {proc.returncode}: {_tail(log)}")
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise ServerFailed(f"xinda serve not ready in {START_TIMEOUT_S:.0f} s: {_tail(log)}")
        time.sleep(0.5)


def _tail(log: IO[bytes], size: int = 2000) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-size:]
