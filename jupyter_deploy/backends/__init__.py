"""Built-in backends (each a plugin like any other)."""
