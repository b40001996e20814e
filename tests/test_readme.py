"""The walk-throughs of the README and docs/api.md, pasted into a shell as a person
would (with `set -eu`): against a real `python -m app serve` with no SMTP_HOST (mail
written to .data/mail/). Only the server's address is changed, to the test server's
port."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import LIVE_ENCRYPTION_KEY, LIVE_SECRET_KEY, free_port
from tests.database import DatabaseServer
from tests.processes import PROJECT_ROOT, cli_env, serve

WALK_THROUGH = "## Walk-through: from sign-up to the first authenticated call"
API_WALK_THROUGH = "## Walk-through: a board, a report, its life"


def walk_through(document: str = "README.md", heading: str = WALK_THROUGH) -> str:
    text = (PROJECT_ROOT / document).read_text()
    section = text[text.index(heading) :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "the walk-through has a shell block"
    return match.group(1)


def run_block(block: str, port: int, cwd: Path, env: dict[str, str]) -> str:
    assert "http://127.0.0.1:8000" in block
    shell = subprocess.run(
        ["bash", "-c", "set -eu\n" + block.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == 0, shell.stdout + shell.stderr
    return shell.stdout


def test_the_readme_walk_through_runs_as_pasted(db_server: DatabaseServer, tmp_path: Path) -> None:
    port = free_port()
    with db_server.fresh("readme") as url:
        # `make run` in the checkout: DATA_DIR is .data of the working directory.
        env = cli_env(DATABASE_URL=url)
        with serve(port, env, cwd=tmp_path) as server:
            server.wait_until_ready()
            out = run_block(walk_through(), port, tmp_path, env)
    assert '"email":"anna@example.com"' in out  # registered, then /me
    assert '"is_email_verified":true' in out  # the token from the mail verified it
    # Signed out (204), then the session's refresh token is refused.
    assert out.endswith(
        '204\n{"detail":"The refresh token has expired or was revoked.","code":"not_authenticated"}'
    )
    assert (tmp_path / ".data" / "mail").is_dir()


def test_the_api_walk_through_runs_as_pasted(db_server: DatabaseServer, tmp_path: Path) -> None:
    """docs/api.md's: in the checkout (it runs `.venv/bin/python -m app`), with the
    data kept out of it."""
    port = free_port()
    with db_server.fresh("apidoc") as url:
        env = cli_env(
            DATABASE_URL=url,
            DATA_DIR=str(tmp_path),
            SECRET_KEY=LIVE_SECRET_KEY,
            ENCRYPTION_KEY=LIVE_ENCRYPTION_KEY,
        )
        with serve(port, env) as server:
            server.wait_until_ready()
            out = run_block(walk_through("docs/api.md", API_WALK_THROUGH), port, PROJECT_ROOT, env)
    assert out.startswith("created manager 1 <boss@example.com> (verified)\n")
    answers = json_values(out.split("\n", 1)[1])
    public = [a for a in answers if "status_history" in a or "board_name" in a]
    assert public and all("fuser" not in json.dumps(a) for a in public)  # never public
    assert any("Probably the fuser." in json.dumps(a) for a in answers)  # the manager sees it
    assert public[-1]["state"] == "closed"
    assert answers[-1]["boards"][0]["ticket_counts"]["closed"] == 1  # the dashboard


def json_values(text: str) -> list[dict[str, Any]]:
    """The JSON answers curl printed one after another (without newlines)."""
    decoder, values, position = json.JSONDecoder(), [], 0
    text = text.strip()
    while position < len(text):
        value, end = decoder.raw_decode(text, position)
        values.append(value)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return values
