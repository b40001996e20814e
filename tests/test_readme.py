"""The README's walk-through, pasted into a shell as a person would: against a real
`python -m app serve` with no SMTP_HOST (mail written to .data/mail/), in a directory
of its own. Only the server's address is changed, to the test server's port."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import free_port
from tests.database import DatabaseServer
from tests.processes import PROJECT_ROOT, cli_env, serve

WALK_THROUGH = "## Walk-through: from sign-up to the first authenticated call"


def walk_through() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index(WALK_THROUGH) :]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match, "the walk-through has a shell block"
    return match.group(1)


def test_the_readme_walk_through_runs_as_pasted(db_server: DatabaseServer, tmp_path: Path) -> None:
    block = walk_through()
    assert "http://127.0.0.1:8000" in block
    port = free_port()
    with db_server.fresh("readme") as url:
        # `make run` in the checkout: DATA_DIR is .data of the working directory.
        env = cli_env(DATABASE_URL=url)
        with serve(port, env, cwd=tmp_path) as server:
            server.wait_until_ready()
            shell = subprocess.run(
                ["bash", "-c", "set -eu\n" + block.replace("127.0.0.1:8000", f"127.0.0.1:{port}")],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            output = server.output()
    assert shell.returncode == 0, shell.stdout + shell.stderr + output
    out = shell.stdout
    assert '"email":"anna@example.com"' in out  # registered, then /me
    assert '"is_email_verified":true' in out  # the token from the mail verified it
    # Signed out (204), then the session's refresh token is refused.
    assert out.endswith(
        '204\n{"detail":"The refresh token has expired or was revoked.","code":"not_authenticated"}'
    )
    assert (tmp_path / ".data" / "mail").is_dir()
