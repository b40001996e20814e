"""Object ids as the API takes them, in paths and in bodies.

Every id column is a PostgreSQL `bigint` (`Identity()` primary keys and the foreign
keys to them), so an id is 1 to 2**63 - 1. A number outside that range is a 422
(`greater_than_equal` / `less_than_equal`) before any query runs, instead of an
overflow inside the database driver (a 500).

Plain pydantic, no FastAPI: request schemas use it as well as the routers' path
parameters, and services import those schemas.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

MIN_ID = 1
MAX_ID = 2**63 - 1  # PostgreSQL bigint

ObjectId = Annotated[int, Field(ge=MIN_ID, le=MAX_ID, description="An object's id (1 to 2^63 - 1)")]
