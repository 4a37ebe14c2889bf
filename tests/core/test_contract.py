"""The built-in plugins run the contract tests a third-party plugin runs
(``jupyter_deploy.testing``): the same checks, from the outside."""

from __future__ import annotations

from jupyter_deploy.testing import BackendContract, TargetContract


class TestReportTarget(TargetContract):
    target = "report"


class TestModelTarget(TargetContract):
    target = "model"
    example_options = {"name": "churn-model", "alias": "production"}


class TestSqlTarget(TargetContract):
    target = "sql"
    example_options = {"table": "customers"}


class TestContainerTarget(TargetContract):
    target = "container"
    example_options = {"name": "churn", "push": "registry.example.com/churn:1"}


class TestKnowledgeRepoBackend(BackendContract):
    backend = "knowledge-repo"


class TestWebBackend(BackendContract):
    backend = "web"
    example_destination = "https://reports.example.com/churn.html"


class TestEmailBackend(BackendContract):
    backend = "email"
    example_destination = "mailto:team@example.com"


class TestRegistryBackend(BackendContract):
    backend = "registry"
    example_destination = "s3://bucket/models"


class TestSqlFileBackend(BackendContract):
    backend = "sql-file"


class TestDatabaseBackend(BackendContract):
    backend = "database"
    example_destination = "duckdb:///warehouse.db"


class TestSparkBackend(BackendContract):
    backend = "spark"
    example_destination = "spark://local"


class TestContainerEngineBackend(BackendContract):
    backend = "container-engine"


def test_every_installed_builtin_plugin_is_covered():
    from jupyter_deploy import plugins

    covered_t = {c.target for c in TargetContract.__subclasses__()}
    covered_b = {c.backend for c in BackendContract.__subclasses__()}
    assert set(plugins.names(plugins.TARGETS)) <= covered_t
    assert set(plugins.names(plugins.BACKENDS)) <= covered_b
