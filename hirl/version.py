"""The package version (one place; pyproject.toml's version is kept equal by tests/test_packaging.py)."""

__version__ = "0.2.0"
