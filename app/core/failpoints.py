"""Fault injection for the crash tests: `APP_FAILPOINT=name` makes the process kill
itself (SIGKILL, no cleanup) when it reaches `failpoint("name")`; `name:N` waits for
the Nth time it gets there.

Unset in normal operation, where a failpoint is one dictionary lookup. The
exactly-once tests use it to stop the worker at each step of handling an email.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def failpoint(name: str) -> None:
    wanted = os.environ.get("APP_FAILPOINT")
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
