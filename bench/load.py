"""Driving a server with wrk, and watching the memory of its processes meanwhile."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "wrk"
THREADS = 2
CONNECTIONS = 32


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    failed: int  # non-2xx/3xx answers and socket errors
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return (self.requests - self.failed) / self.seconds


def wrk(
    url: str, script: str, seconds: float, connections: int = CONNECTIONS, **env: str
) -> LoadResult:
    """`wrk -t2 -c32` (or `connections`) for `seconds` against `url` with
    bench/wrk/`script`."""
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    output = subprocess.run(
        command,
        env={**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    line = next(x for x in output.splitlines() if x.startswith("BENCH "))
    data = json.loads(line.removeprefix("BENCH "))
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        failed=data["status_errors"] + data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def warm_then_measure(
    url: str,
    script: str,
    *,
    warmup: float,
    seconds: float,
    connections: int = CONNECTIONS,
    **env: str,
) -> LoadResult:
    wrk(url, script, warmup, connections, **env)
    return wrk(url, script, seconds, connections, **env)


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def role(pid: int) -> str:
    """What a process of the server's tree is: the server, one of its uvicorn
    processes, the worker process, or one of the worker's parse-pool processes."""

    def command(of: int) -> str:
        try:
            return Path(f"/proc/{of}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return ""

    mine = command(pid)
    if "app serve" in mine:
        return "serve"
    if "app worker" in mine:
        return "worker"
    if "resource_tracker" in mine:
        return "resource tracker"
    try:
        parent = int((Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split())[1])
    except (OSError, IndexError, ValueError):
        return "?"
    return "parse pool" if "app worker" in command(parent) else "server process"


class MemoryWatch:
    """Samples the resident memory of every process under `pid` until stopped; `peak`
    is the largest any one of them reached, `peak_role` what that process was."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        self.pid, self.every = pid, every
        self.peak = 0.0
        self.peak_role = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for member in process_tree(self.pid):
                if (resident := rss_mb(member)) > self.peak:
                    self.peak, self.peak_role = resident, role(member)
            self._stop.wait(self.every)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
