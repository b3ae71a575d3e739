"""The documentation of every view and column, read from `core/schema.toml`.

One file describes the model: each view's grain and each column's meaning. A column named the same
in many views (case_id, physician_id…) is described once in the glossary and referenced by an empty
string. `core.db` uses the same file as its allow-list of views and columns, and a test holds it
against DuckDB's `DESCRIBE` so that the documentation and the database cannot drift apart.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

SCHEMA_FILE = Path(__file__).with_name("schema.toml")


@lru_cache(maxsize=1)
def _load() -> dict:
    with SCHEMA_FILE.open("rb") as fh:
        return tomllib.load(fh)


def names() -> list[str]:
    """Every documented view and table name, in documentation order."""
    return list(_load()["views"])


def glossary() -> dict[str, str]:
    """Descriptions shared by same-named columns across views."""
    return dict(_load()["glossary"])


def view(name: str) -> dict:
    """{'grain', 'materialized', 'columns': {column: description}} for one documented view."""
    doc = _load()["views"][name]
    shared = _load()["glossary"]
    columns = {col: (text or shared.get(col, "")) for col, text in doc["columns"].items()}
    return {"grain": doc["grain"], "materialized": doc.get("materialized", "table"), "columns": columns}
