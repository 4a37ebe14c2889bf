"""Fitted models as SQL: ``to_sql(model, table, dialect)`` and ``prove(...)``.

The compiler builds sqlglot expression trees, so one translation serves every dialect sqlglot
writes; the proof runs the SQL on real engines and compares it with scikit-learn.
"""

from .compiler import compile_model, supported, to_sql
from .proof import prove

__all__ = ["to_sql", "compile_model", "prove", "supported"]
