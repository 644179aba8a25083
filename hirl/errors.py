"""Errors that mean "the input is wrong" (config, dataset, checkpoint, CLI argument). The CLI prints their
one-line message and exits 2; anything else is a bug and keeps its traceback."""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input; str(err) is one line naming the file/key/field and what is wrong."""

