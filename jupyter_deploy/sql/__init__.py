"""Fitted models as SQL: ``to_sql(model, table, dialect)`` and ``prove(...)``.

The compiler builds sqlglot expression trees, so one translation serves every dialect sqlglot
writes; the proof runs the SQL on real engines and compares it with scikit-learn.

The names load on first use: the ``sql`` target reads the dialect table
(:mod:`jupyter_deploy.sql.identifiers`) without importing the compiler, NumPy or sqlglot.
"""

from __future__ import annotations

__all__ = ["to_sql", "compile_model", "prove", "supported"]


def __getattr__(name: str):
    if name in ("to_sql", "compile_model", "supported"):
        from . import compiler

        return getattr(compiler, name)
    if name == "prove":
        from .proof import prove

        return prove
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
