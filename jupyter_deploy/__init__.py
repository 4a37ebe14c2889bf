"""jupyter-deploy: take a notebook to production, and prove it.

``%load_ext jupyter_deploy`` registers the ``%deploy`` magics. Everything else is imported only
when it is used, so loading the extension stays fast.
"""

from ._version import __version__

__all__ = ["__version__", "load", "to_sql", "spark_udf", "load_ipython_extension"]


def load_ipython_extension(ipython):
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython):
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def load(name, version=None, *, registry=None, **kwargs):
    """Load a model from a jupyter-deploy registry (see :func:`jupyter_deploy.api.load`)."""
    from .api import load as _load

    return _load(name, version, registry=registry, **kwargs)


def spark_udf(name, version=None, registry=None, **kwargs):
    """A pandas UDF scoring a registry model on Spark, loaded once per executor process after its
    hashes are checked (see :func:`jupyter_deploy.model.spark.spark_udf`); needs pyspark."""
    from .model.spark import spark_udf as _spark_udf

    return _spark_udf(name, version, registry, **kwargs)


def to_sql(model, table, dialect="duckdb", **kwargs):
    """A fitted scikit-learn model as SQL text (see :func:`jupyter_deploy.api.to_sql`)."""
    from .api import to_sql as _to_sql

    return _to_sql(model, table, dialect, **kwargs)


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "jupyter-deploy"}]


def _jupyter_server_extension_points():
    return [{"module": "jupyter_deploy.server"}]
