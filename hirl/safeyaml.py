"""Bounded safe YAML parsing: yaml.safe_load within MAX_DEPTH nesting levels and MAX_NODES values after alias
expansion, so a hostile config (an alias bomb, a deeply nested file) fails at once instead of exhausting memory or
the stack; a key twice in one mapping is refused. hirl.config reads every config file and override through it."""
from __future__ import annotations

import typing
from typing import Any

import yaml

MAX_DEPTH = 32  # nesting levels of a config or record, after YAML alias expansion
MAX_NODES = 100_000  # values in a YAML config after alias expansion (an 8-level alias bomb expands to 10^8)


class LimitError(ValueError):
    """A config beyond MAX_DEPTH / MAX_NODES (str: what, and where when known)."""


class _BoundedLoader(yaml.SafeLoader):
    """yaml.SafeLoader that stops composing past MAX_DEPTH nesting levels (PyYAML composes recursively: deeper
    input would end in RecursionError)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """PyYAML's mapping, refusing a key that appears twice in one mapping (YAML 1.2 requires unique keys; PyYAML
        would keep the last one silently)."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, typing.Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            if isinstance(key, typing.Hashable):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise LimitError(f"nested deeper than {MAX_DEPTH} levels at line {mark.line + 1}")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expansion(root: yaml.Node) -> None:
    """LimitError if the node graph (aliases make it a DAG, or a cycle) expands past MAX_NODES values or
    MAX_DEPTH levels; linear in the number of distinct nodes."""
    done: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, height)
    active: set[int] = set()

    def walk(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in done:
            size, height = done[key]
        elif key in active:
            raise LimitError(f"recursive alias at line {node.start_mark.line + 1}")
        else:
            active.add(key)
            if isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            elif isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            else:
                children = []
            size, height = 1, 0
            for child in children:
                child_size, child_height = walk(child, depth + 1)
                size, height = size + child_size, max(height, child_height + 1)
                if size > MAX_NODES:
                    raise LimitError(f"more than {MAX_NODES} values after alias expansion (line {node.start_mark.line + 1})")
            active.discard(key)
            done[key] = size, height
        if depth + height > MAX_DEPTH:
            raise LimitError(f"nested deeper than {MAX_DEPTH} levels after alias expansion "
                              f"(line {node.start_mark.line + 1})")
        return size, height

    walk(root, 0)


def load_yaml_text(text: str) -> Any:
    """yaml.safe_load(text) within MAX_DEPTH / MAX_NODES (LimitError beyond, yaml.YAMLError on bad YAML)."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
