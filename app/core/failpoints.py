"""Fault injection for the crash tests: `APP_FAILPOINT=name` makes the process kill
itself (SIGKILL, no cleanup) when it reaches `failpoint("name")`.

Unset in normal operation, where a failpoint is one dictionary lookup. The
exactly-once tests use it to stop the worker at each step of handling an email.
"""

from __future__ import annotations

import os
import signal


def failpoint(name: str) -> None:
    if os.environ.get("APP_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
