"""The objects a clean run kept: what the deploy targets use instead of the live session's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

INDEX = "objects.json"


class ObjectStore:
    """A folder of cloudpickled objects written by the clean kernel, plus their descriptions."""

    def __init__(self, directory: Path, described: list[dict]):
        self.directory = Path(directory)
        self._described = described
        self._loaded: dict[str, object] = {}

    @classmethod
    def write_index(cls, directory: Path, described: list[dict]) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        (Path(directory) / INDEX).write_text(json.dumps(described, indent=1))

    @classmethod
    def open(cls, directory: Optional[str | Path]) -> Optional["ObjectStore"]:
        if not directory:
            return None
        index = Path(directory) / INDEX
        if not index.is_file():
            return None
        return cls(Path(directory), json.loads(index.read_text()))

    def describe(self) -> list[dict]:
        return list(self._described)

    def names(self) -> list[str]:
        return [d["name"] for d in self._described if d.get("kept")]

    def pickled(self, name: str) -> bytes:
        return (self.directory / f"{name}.pkl").read_bytes()

    def load(self, name: str):
        if name not in self._loaded:
            import cloudpickle

            self._loaded[name] = cloudpickle.loads(self.pickled(name))
        return self._loaded[name]
