"""Built-in targets: report, model, sql, container (each a plugin like any other)."""
