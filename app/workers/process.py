"""The background workers in a process of their own, beside the server's.

`python -m app serve` starts `python -m app worker` as a child: sending mail,
reading inboxes and forwarding reports then use their own core and never take a
turn of the event loop that answers HTTP (docs/performance.md measured a fifth more
public reports a second with the workers out of the server's process). The child is
started again if it dies, and stopped (SIGTERM, then SIGKILL after a grace period)
before the server's process exits; should the server's process be killed outright,
the child notices its parent is gone and stops itself (`core/lifeline.SERVE_PID`).

The child runs at a lower CPU priority than the server (`yield_to_the_server`): under
a flood of reports the acknowledgements wait for spare CPU instead of taking it from
the HTTP answers (docs/performance.md).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from app.core.lifeline import SERVE_PID

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 2.0
STOP_GRACE_SECONDS = 30.0


# The workers' niceness beside the server's processes (0): the scheduler gives them what
# the server leaves, and still a share when the machine stays busy.
NICENESS = 19


def yield_to_the_server() -> None:
    """Lower this process's CPU priority. Linux schedules the processes of a session as
    one group (autogroup) against other sessions, and the worker has a session of its
    own: the group's niceness is lowered too, where the kernel groups sessions. A
    refusal is logged; the worker runs on at its priority."""
    try:
        os.nice(NICENESS)
    except OSError as exc:
        log.warning("could not lower the workers' priority", extra={"error": str(exc)})
    if not os.path.exists("/proc/self/autogroup"):
        return  # no autogroups (another kernel, another OS): the niceness serves
    for attempt in (1, 2):  # the kernel takes one change per 100 ms, machine-wide
        try:
            with open("/proc/self/autogroup", "w") as autogroup:
                autogroup.write(str(NICENESS))
            return
        except OSError as exc:
            if attempt == 2:
                log.warning(
                    "could not lower the workers' scheduling group", extra={"error": str(exc)}
                )
            else:
                time.sleep(0.1)


class WorkerProcess:
    def __init__(self, environment: Mapping[str, str]) -> None:
        self.environment = {**environment, SERVE_PID: str(os.getpid())}
        self.process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-process", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # A session of its own: a terminal's Ctrl-C reaches the server, which stops
            # the child itself, in order (the child first, then the database).
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app", "worker"],
                env=self.environment,
                start_new_session=True,
            )
        log.info("worker process started", extra={"pid": self.process.pid})

    def _watch(self) -> None:
        while True:
            process = self.process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            log.error("worker process exited; starting it again", extra={"exit_code": code})
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            self._spawn()

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> int | None:
        """Stop the child and wait for it; its exit code."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                log.error("worker process did not stop in time; killed")
                process.kill()
                process.wait()
        if self._watcher is not None:
            self._watcher.join(grace)
        return process.returncode
