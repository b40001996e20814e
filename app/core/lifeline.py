"""A child process's lifeline to the process that started it: the worker process to
`serve`, a parse-pool process to the worker. A parent killed outright (SIGKILL, the
OOM killer) cannot stop its children, which would otherwise wait forever."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable

# The environment variable that names the `serve` process its children (the worker
# process, the server processes) follow. The parent a child finds as it starts would
# not do: `serve` killed while the child still imports leaves it another's child.
SERVE_PID = "APP_SERVE_PID"


def serve_pid() -> int | None:
    """The `serve` that started this process, if one did."""
    value = os.environ.get(SERVE_PID)
    return int(value) if value else None


def when_parent_gone(parent: int, then: Callable[[], object]) -> None:
    """Call `then`, in a thread of its own, once the process `parent` is gone (at once
    if this process's parent is another already). A pidfd becomes readable when its
    process exits; without pidfds the parent is looked for every second."""

    def watch() -> None:
        try:
            descriptor = os.pidfd_open(parent)
        except ProcessLookupError:
            pass
        except (OSError, AttributeError):  # no pidfds here
            while os.getppid() == parent:
                time.sleep(1.0)
        else:
            try:
                # Still the parent's child: its pid was not reused by another process
                # after it died, before the pidfd was opened.
                if os.getppid() == parent:
                    select.select([descriptor], [], [])
            finally:
                os.close(descriptor)
        then()

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
