"""The ``sql`` target: a fitted model as a SQL query, proven equal to ``predict()`` before hand-off.

``%deploy sql clf --table customers --dialect postgres --sample X_test`` compiles the clean run's
``clf`` to a SELECT over ``customers``, runs it on embedded DuckDB (and on SQLite or ClickHouse's
in-process chdb when that is the dialect) over the sample plus adversarial rows (every split threshold, one float32 step either
side, NULLs, unseen categories) and refuses to hand off SQL that disagrees with scikit-learn.
"""

from __future__ import annotations

import json
from typing import ClassVar

from traitlets import Dict, List, TraitError, Unicode, validate

from ..bundle import Bundle, Proof, SqlSpec
from ..errors import DeployError, UsageError, VerificationFailed
from ..plugin import DeployContext, Target
from ..sql.identifiers import DIALECTS, normalize_dialect

# engines the bundle carries ready-to-run SQL for (the database backend picks its own)
ENGINE_DIALECTS = ("duckdb", "sqlite", "postgres", "spark")
VERIFY_TABLE = "__jd_verify_sample"
ENGINE_NAMES = {"duckdb": "DuckDB", "sqlite": "SQLite", "clickhouse": "ClickHouse (chdb)"}


def default_view(table: str) -> str:
    parts = table.split(".")
    parts[-1] = parts[-1] + "_predictions"
    return ".".join(parts)


class SQLTarget(Target):
    """A fitted scikit-learn model as a SQL query (a .sql file or a view in a database)."""

    plugin_name: ClassVar[str] = "sql"
    description: ClassVar[str] = (
        "A fitted model as a SQL SELECT that computes the same predictions inside a database, "
        "proven equal to predict() on real engines; saved as a .sql file or created as a view."
    )
    default_backend: ClassVar[str] = "sql-file"
    needs_object: ClassVar[bool] = True

    var = Unicode("", help="The notebook variable holding the fitted model or Pipeline.").tag(
        config=True, option=True, cli_positional=True, required=True, object_kind="estimator"
    )
    table = Unicode("", help="The table (or SCHEMA.TABLE) the query reads the features from.").tag(
        config=True, option=True, required=True
    )
    dialect = Unicode(
        "duckdb", help="The SQL dialect to write: " + ", ".join(DIALECTS) + " (postgresql, "
        "mssql and other usual spellings are accepted; any dialect sqlglot writes works).",
    ).tag(config=True, option=True, choices=DIALECTS)
    sample = Unicode(
        "",
        help="A notebook variable with rows to prove the SQL on (e.g. X_test). Without it, the "
        "proof uses rows built at the model's split thresholds.",
    ).tag(config=True, option=True, object_kind="sample", features_of="var")
    columns = Dict(
        default_value={},
        help="Model feature name = table column, where they differ (repeat: --columns f=col).",
    ).tag(config=True, option=True)
    keep = List(
        default_value=[], help="Table columns to pass through in front of the prediction (ids...)."
    ).tag(config=True, option=True)
    view = Unicode("", help="Name of the view a database URL gets (default: <table>_predictions).").tag(
        config=True, option=True
    )
    name = Unicode("", help="File stem of the .sql file (default: the view name).").tag(
        config=True, option=True, advanced=True
    )

    @validate("dialect")
    def _one_name_per_dialect(self, proposal):
        """postgresql -> postgres, mssql -> tsql: one name in the bundle, the line and history."""
        try:
            return normalize_dialect(proposal["value"])
        except DeployError as exc:
            raise TraitError(exc.one_line()) from None

    # ------------------------------------------------------------------------------------
    def validate(self, ctx: DeployContext) -> None:
        if not self.var:
            raise UsageError("Which model? Give the notebook variable that holds it.", hint="%deploy sql clf --table T")
        if not self.table:
            raise UsageError("Give --table: the table the SQL reads the features from.", hint="%deploy sql clf --table customers")
        from ..sql.identifiers import table as _table

        _table(self.table)
        for k in self.keep:
            if not isinstance(k, str) or not k:
                raise UsageError(f"Invalid --keep column {k!r}.")

    def _dialect(self) -> str:
        from ..sql.identifiers import normalize_dialect

        return normalize_dialect(self.dialect)

    def build(self, ctx: DeployContext) -> Bundle:

        from ..sql.compiler import boolean_columns, compile_model
        from ..sql.proof import proof_engines, prove, sample_frame, synthetic_sample

        self.validate(ctx)
        reporter = ctx.reporter
        model = ctx.objects.get(self.var)
        dialect = self._dialect()
        reporter("build", 0, 4, f"translating {self.var} to {dialect} SQL")
        view = self.view or default_view(self.table)
        if self.sample:
            sample = sample_frame(model, ctx.objects.get(self.sample))
        else:
            sample = synthetic_sample(model)
        # the sample's boolean columns are BOOLEAN columns of the table: read through an INT cast
        booleans = boolean_columns(sample)
        kw = dict(keep=list(self.keep), columns=dict(self.columns), boolean_features=booleans)
        comp = compile_model(model, self.table, dialect, **kw)
        proofs: list[Proof] = []

        # the live session's model must predict what the clean run's does (shared with the
        # model and container targets: refused on a difference unless --force)
        from ..model.live import compare_live

        live_proofs, _ = compare_live(ctx, self.var, self.sample or "the proof's sample", model, sample)
        proofs += live_proofs

        engines = proof_engines(dialect)
        reporter("build", 1, 4, "proving the SQL on " + ", ".join(ENGINE_NAMES[e] for e in engines))
        result = prove(model, sample, engines=engines)
        detail = (
            f"{result['rows_checked']} rows ({result['adversarial_rows']} adversarial) on "
            f"{', '.join(engines)}: max abs error {result['max_abs_error']:.3g}, "
            f"label agreement {result['label_agreement']:.2%}"
        )
        if dialect == "clickhouse" and "clickhouse" not in engines:
            detail += " (ClickHouse itself not tried: pip install 'jupyter-deploy[clickhouse]')"
        proofs.append(Proof("sql-equals-predict", bool(result["ok"]), detail, _jsonable(result)))
        if not result["ok"]:
            raise VerificationFailed(
                f"The SQL for {self.var} disagrees with scikit-learn: {detail}.",
                hint="Nothing was handed off. This is a bug in the translation: please report it "
                "with the model type.",
                proof=_jsonable(result),
            )

        reporter("build", 2, 4, "writing the bundle")
        stem = self.name or view.replace(".", "_")
        bundle = ctx.new_bundle("sql", name="sql")
        header = (
            f"-- Generated by jupyter-deploy from {ctx.notebook.name} ({self.var}, {type(model).__name__}).\n"
            f"-- Reads {self.table}; proof: {detail}.\n"
        )
        (bundle.path / f"{stem}.sql").write_text(header + comp.sql + "\n")
        engines_dir = bundle.path / "engines"
        engines_dir.mkdir()
        for d in ENGINE_DIALECTS:
            c = compile_model(model, self.table, d, **kw)
            (engines_dir / f"{d}.sql").write_text(c.sql + "\n")
            v = compile_model(model, VERIFY_TABLE, d, keep=["__jd_row"], feature_names=None,
                              columns=dict(self.columns), boolean_features=booleans)
            (engines_dir / f"{d}.verify.sql").write_text(v.sql + "\n")
        # sample rows (in table column names) and scikit-learn's outputs, for the backend's check
        _write_expected(bundle, model, sample, comp)
        reporter("build", 3, 4, "bundle written")
        bundle.proofs.extend(proofs)
        bundle.set_spec(SqlSpec(
            file=f"{stem}.sql",
            dialect=dialect,
            table=self.table,
            view=view,
            columns=comp.columns,
            keep=list(self.keep),
            outputs=comp.outputs,
            classes=[str(c) for c in comp.classes] if comp.classes is not None else None,
            kind_of_model=comp.kind,
            model=type(model).__name__,
            variable=self.var,
            sql_chars=len(comp.sql),
            max_abs_error=result["max_abs_error"],
            label_agreement=result["label_agreement"],
            rows_checked=result["rows_checked"],
            tolerance=result["tolerance"],
        ))
        reporter("build", 4, 4, "done")
        return bundle


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def _write_expected(bundle: Bundle, model, sample, comp):
    import numpy as np
    import pandas as pd

    from ..sql.proof import _label_text, expected

    pred, proba = expected(model, sample)
    df = sample.rename(columns=comp.columns).copy()
    df.insert(0, "__jd_row", np.arange(len(df)))
    exp_df = pd.DataFrame({"__jd_row": np.arange(len(df))})
    if comp.kind == "classifier":
        exp_df["prediction"] = [_label_text(v) for v in pred]
    else:
        exp_df["prediction"] = np.asarray(pred, dtype=float)
    if proba is not None and comp.classes is not None:
        for i, c in enumerate(comp.classes):
            exp_df[f"proba_{i}"] = proba[:, i]
    df.to_parquet(bundle.path / "sample.parquet", index=False)
    exp_df.to_parquet(bundle.path / "expected.parquet", index=False)
