"""The layers of docs/architecture.md hold, and the import-linter contracts in
pyproject.toml fail when an import runs the wrong way."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `app` package under `root` (PYTHONPATH puts it first)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


WRONG_WAY = [
    ("app/core/clock.py", "from app.tickets.models import Ticket", "app.core.clock -> app.tickets"),
    ("app/core/orm.py", "import app.models", "app.core.orm -> app.models"),
    ("app/outbox/outgoing.py", "from app.auth.models import Manager", "app.outbox.outgoing"),
    ("app/ratelimit/service.py", "from app.outbox import outgoing", "app.ratelimit.service"),
    ("app/auth/service.py", "from app.boards.models import Board", "app.auth.service"),
    ("app/inboxes/service.py", "from app.tickets.models import Ticket", "app.inboxes.service"),
    ("app/standby/actions.py", "from app.intake.ingest import ingest_message", "app.intake"),
    ("app/intake/ingest.py", "from app.workers.runner import WorkerRunner", "app.workers"),
    ("app/workers/runner.py", "from app.main import create_app", "app.workers.runner"),
    ("app/boards/service.py", "from app.boards.router import router", "app.boards.router"),
    ("app/tickets/service.py", "from fastapi import Request", "app.tickets.service"),
    ("app/integrations/jira.py", "from app.boards.models import Board", "app.integrations.jira"),
    ("app/intake/parse.py", "import sqlalchemy", "app.intake.parse"),
]


@pytest.mark.parametrize(("module", "line", "named"), WRONG_WAY, ids=[w[0] for w in WRONG_WAY])
def test_a_wrong_way_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, named: str
) -> None:
    shutil.copytree(ROOT / "app", tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and named in result.stdout, result.stdout
