"""The embedded PostgreSQL (pgserver) in DATA_DIR, used when DATABASE_URL is unset."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

from app.core.config import Settings

log = logging.getLogger(__name__)

_embedded_server: Any = None


def start_embedded_postgres(settings: Settings) -> str:
    """Start (or join) the pgserver PostgreSQL in DATA_DIR and return its URL.

    pgserver counts the processes using one data folder and stops the server when
    the last of them exits, so the CLI, the workers and tests can share it.
    """
    global _embedded_server
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset (servers, containers): harmless.
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only the embedded default needs it

    pgdata = settings.data_dir / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if _embedded_server is None:
        _forget_dead_handles(pgdata)
        log.info("starting embedded PostgreSQL", extra={"pgdata": str(pgdata)})
        _embedded_server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return str(_embedded_server.get_uri())


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without releasing their handle (SIGKILL, power loss).

    pgserver stops the server only when the last registered process exits; a dead
    process left in its list would keep the server running forever after.
    """
    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def stop_embedded_postgres() -> None:
    """Release this process's handle; the server stops when no process holds one."""
    global _embedded_server
    if _embedded_server is not None:
        _embedded_server.cleanup()
        _embedded_server = None
