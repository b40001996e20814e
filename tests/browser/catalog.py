"""The web app's own words, read from its catalogs, so that the browser tests find
fields and buttons by the accessible names a person sees, in either language."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from tests.processes import PROJECT_ROOT

LOCALES = PROJECT_ROOT / "frontend" / "src" / "i18n" / "locales"


@cache
def _catalog(language: str, namespace: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((LOCALES / language / f"{namespace}.json").read_text())
    return data


def text(language: str, key: str, **values: object) -> str:
    """`text("pl", "auth:fields.email")`, with {{placeholders}} filled from `values`."""
    namespace, path = key.split(":", 1)
    node: Any = _catalog(language, namespace)
    for part in path.split("."):
        node = node[part]
    assert isinstance(node, str), f"{key} is not a string in {language}"
    for name, value in values.items():
        node = node.replace("{{" + name + "}}", str(value))
    return node
