"""What the image holds, proven without a container engine: the Dockerfile's steps done
by hand. The build context (the tree minus `.dockerignore`), the locked versions and
then `pip install .` (not editable) into a fresh venv, the built SPA in a directory of
its own; then `migrate` and `serve` from that venv, away from the source, against a
real PostgreSQL. A template, a migration or an asset missing from the package fails
here, not in a deploy."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from alembic.script import ScriptDirectory

from app.migrations import alembic_config
from tests.conftest import free_port
from tests.database import DatabaseServer
from tests.processes import PROJECT_ROOT, cli_env, serve
from tests.smtp import SmtpServer

DIST = PROJECT_ROOT / "frontend" / "dist"


def _dockerignored(root: Path) -> Callable[[str, list[str]], set[str]]:
    patterns = [
        line.strip()
        for line in (root / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignore(directory: str, names: list[str]) -> set[str]:
        relative = Path(directory).relative_to(root)
        ignored = set()
        for name in names:
            path = (relative / name).as_posix()
            for pattern in patterns:
                bare = pattern.removeprefix("**/")
                if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, bare):
                    ignored.add(name)
        return ignored

    return ignore


def _copied_by_the_dockerfile(context: Path, build: Path) -> None:
    """The final stage's `COPY` lines from the build context (not `--from` another
    stage) done by hand, into what its WORKDIR would be."""
    lines = (context / "Dockerfile").read_text().splitlines()
    last_stage = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    build.mkdir()
    for line in lines[last_stage:]:
        if not line.startswith("COPY ") or "--from" in line:
            continue
        *sources, destination = line.split()[1:]
        for source in sources:
            target = build / destination / Path(source).name
            if (context / source).is_dir():
                shutil.copytree(context / source, build / destination)
            else:
                (build / destination).mkdir(parents=True, exist_ok=True)
                shutil.copy2(context / source, target)


def test_the_installed_package_migrates_serves_the_spa_and_renders_mail(
    db_server: DatabaseServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    assert (DIST / "index.html").is_file(), "the SPA is built first (make test does)"
    context = tmp_path / "context"
    shutil.copytree(PROJECT_ROOT, context, ignore=_dockerignored(PROJECT_ROOT))
    assert not (context / ".venv").exists() and not (context / "frontend" / "dist").exists()
    build = tmp_path / "build"
    _copied_by_the_dockerfile(context, build)
    assert (build / "pyproject.toml").is_file() and (build / "app" / "__init__.py").is_file()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for step in (  # the Dockerfile's RUN: the locked versions by hash, then the app
        ["--require-hashes", "-r", str(build / "requirements.lock")],
        ["--no-deps", str(build)],
    ):
        installed = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=900)
        assert installed.returncode == 0, installed.stderr[-3000:]

    # The image's WORKDIR: the SPA alone, no source the interpreter could import.
    runtime = tmp_path / "app"
    shutil.copytree(DIST, runtime / "frontend" / "dist")
    with db_server.fresh("image") as url:
        env = {
            k: v
            for k, v in cli_env(
                DATABASE_URL=url,
                DATA_DIR=str(tmp_path / "data"),
                FRONTEND_DIST=str(runtime / "frontend" / "dist"),
                SMTP_HOST=smtp_server.host,
                SMTP_PORT=str(smtp_server.port),
                SMTP_SECURITY="none",
                PUBLIC_BASE_URL="http://tracker.example.com",
            ).items()
            if k != "PYTHONPATH"
        }
        where = subprocess.run(
            [python, "-c", "import app, sys; print(app.__file__)"],
            cwd=runtime,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert str(venv) in where.stdout, where.stdout  # the installed copy, not the source

        migrated = subprocess.run(
            [python, "-m", "app", "migrate"], cwd=runtime, env=env, capture_output=True, text=True
        )
        assert migrated.returncode == 0, migrated.stderr
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert f"database schema is up to date (revision {head})" in migrated.stdout

        with serve(free_port(), env, python=python, cwd=runtime) as server:
            assert server.wait_until_ready().json() == {"status": "ready"}
            page = httpx.get(f"{server.base_url}/boards")  # a client-side route
            assert page.status_code == 200 and '<div id="root">' in page.text
            for script, holds in (
                ("swagger-ui-bundle.js", "SwaggerUIBundle"),
                ("init.js", "#swagger-ui"),
            ):
                served = httpx.get(f"{server.base_url}/api-docs/{script}")
                assert served.status_code == 200 and holds in served.text
                assert "javascript" in served.headers["content-type"]

            registered = httpx.post(
                f"{server.base_url}/api/v1/auth/register",
                json={
                    "email": "ops@example.com",
                    "password": "a long enough password",
                    "full_name": "Ops",
                    "language": "en",
                },
            )
            assert registered.status_code == 201, registered.text
            [mail] = smtp_server.mailbox.wait_for("ops@example.com")
            html = next(p for p in mail.walk() if p.get_content_type() == "text/html")
            text = str(html.get_content())
            assert "http://tracker.example.com/verify-email" in text  # the template, rendered
            assert "<html" in text.lower()
