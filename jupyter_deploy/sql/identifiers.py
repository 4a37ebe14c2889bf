"""Quoting of user-given names: every table and column name goes through sqlglot's identifiers.

Names are never pasted into SQL text: they become ``exp.Identifier(quoted=True)`` nodes, which
sqlglot writes with the dialect's own quote character, doubling any quote inside the name. So a
column called ``a"; DROP TABLE t; --`` is just an odd column name.
"""

from __future__ import annotations

from typing import Sequence, Union

# The dialects offered (CLI choices, the sidebar's list, the docs): one name each.
DIALECTS = (
    "duckdb",
    "sqlite",
    "postgres",
    "mysql",
    "bigquery",
    "snowflake",
    "spark",
    "clickhouse",
    "tsql",
    "trino",
)

# Spellings people use for the same dialect (accepted, written as the canonical name).
ALIASES = {
    "postgresql": "postgres",
    "pg": "postgres",
    "sqlserver": "tsql",
    "mssql": "tsql",
    "databricks": "databricks",
    "presto": "presto",
    "redshift": "redshift",
    "oracle": "oracle",
}


def normalize_dialect(dialect: str) -> str:
    from ..errors import UsageError

    name = (dialect or "duckdb").strip().lower()
    name = ALIASES.get(name, name)
    try:
        from sqlglot.dialects.dialect import Dialect

        Dialect.get_or_raise(name)
    except Exception:
        raise UsageError(
            f"Unknown SQL dialect {dialect!r}.",
            hint="Use one of: " + ", ".join(DIALECTS) + " (or any dialect sqlglot writes).",
        ) from None
    return name


def ident(name: str):
    """A quoted identifier node for ``name`` (any text: spaces, quotes, reserved words...)."""
    from sqlglot import exp

    if not isinstance(name, str) or name == "":
        from ..errors import UsageError

        raise UsageError(f"Invalid SQL name {name!r}.", hint="Names must be non-empty strings.")
    return exp.Identifier(this=name, quoted=True)


def column(name: str):
    from sqlglot import exp

    return exp.Column(this=ident(name))


def table(name: Union[str, Sequence[str]]):
    """A table reference. ``"schema.table"`` is split on dots; pass a list for names with dots."""
    from sqlglot import exp

    parts = list(name) if isinstance(name, (list, tuple)) else str(name).split(".")
    if not parts or any(p == "" for p in parts) or len(parts) > 3:
        from ..errors import UsageError

        raise UsageError(
            f"Invalid table name {name!r}.",
            hint="Give TABLE, SCHEMA.TABLE or CATALOG.SCHEMA.TABLE (a list for names with dots).",
        )
    ids = [ident(p) for p in parts]
    if len(ids) == 1:
        return exp.Table(this=ids[0])
    if len(ids) == 2:
        return exp.Table(this=ids[1], db=ids[0])
    return exp.Table(this=ids[2], db=ids[1], catalog=ids[0])


def quote(name: str, dialect: str) -> str:
    """``name`` quoted for ``dialect`` (for messages and DDL)."""
    return ident(name).sql(dialect=dialect)
