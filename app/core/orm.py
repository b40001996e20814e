"""The declarative Base every table derives from, and the column helpers they share.

Knows no table: the registry of every model is `app/models.py`, which only Alembic
and the entry points import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, MetaData, Select, Table, bindparam, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.core.clock import clock

# Stable constraint names, so Alembic revisions can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a text column within an enumeration (NULL passes)."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def _now() -> datetime:
    return clock.now()


def stamped(**kwargs: Any) -> Any:
    """A timestamp column the application fills from the one clock (app/core/clock.py),
    so a test that moves time moves every timestamp; the server default only serves
    rows written by hand in SQL."""
    return mapped_column(default=_now, server_default=func.now(), **kwargs)


class CreatedAt:
    created_at: Mapped[datetime] = stamped()


class Timestamps(CreatedAt):
    # SQLAlchemy sets it on every UPDATE it issues.
    updated_at: Mapped[datetime] = stamped(onupdate=_now)


def bound_row(
    table: Table,
    columns: tuple[str, ...],
    given: Mapping[str, ColumnElement[Any]] | None = None,
    *,
    prefix: str = "",
) -> Select[Any]:
    """SELECT one row of bind parameters named (after `prefix`) and typed as `table`'s
    `columns`: the source of an INSERT … SELECT built once and run with each row's
    values. A column in `given` takes that expression instead (a value another part
    of the statement found)."""
    given = given or {}
    return select(
        *(
            (given[c] if c in given else bindparam(prefix + c, type_=table.c[c].type)).label(c)
            for c in columns
        )
    )
