"""Embedded default configs (YAML), loaded with importlib.resources."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def embedded(name: str) -> Path:
    """Path of an embedded config file, e.g. embedded("demo.yaml")."""
    return Path(str(files("hirl.configs") / name))
