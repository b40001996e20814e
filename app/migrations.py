"""Running Alembic from the application (start-up, CLI, tests).

The revisions live in the package (`app/alembic/`), so an installed app (the image's
`pip install .`) migrates without the source tree; `alembic.ini` at the root is for
a developer's own `alembic` commands only.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPT_LOCATION = Path(__file__).resolve().parent / "alembic"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    config.set_main_option("timezone", "UTC")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if database_url:
        config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision`. Runs its own event loop: call it outside one."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def head() -> str:
    """The newest revision of the installed app (where `upgrade` leaves the database)."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())
