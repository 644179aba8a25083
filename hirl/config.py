"""Typed configs: YAML -> frozen-schema dataclasses, with dotted `key=value` overrides.

    cfg = load_config(DemoConfig, "experiments/tabletop/demo.yaml", ["replan.interval=10"])

Unknown keys, missing required keys and wrong types raise ConfigError with one line
naming the file (or the command-line override), the dotted key and the expected type.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from hirl.errors import InputError
from hirl.fileio import atomic_write_text

C = TypeVar("C")
_MISSING = object()


class ConfigError(InputError):
    """A config could not be built; str(err) is one line naming where and what."""


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(tp))
    if origin in (list, tuple, dict):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


class _Builder:
    """Walks a dataclass schema and a raw mapping together, reporting the first mismatch."""

    def __init__(self, source: str, override_keys: set[str]) -> None:
        self.source, self.override_keys = source, override_keys

    def fail(self, key: str, message: str) -> typing.NoReturn:
        where = "command-line override" if key in self.override_keys else self.source
        raise ConfigError(f"{where}: key '{key}': {message}")

    def build(self, cls: type, raw: Any, prefix: str) -> Any:
        if not isinstance(raw, dict):
            self.fail(prefix.rstrip(".") or "<root>", f"expected a mapping for {cls.__name__}, got {type(raw).__name__}")
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        for key in raw:
            if key not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.fail(f"{prefix}{key}", f"unknown key{hint}; known keys: {', '.join(fields)}")
        kwargs = {}
        for name, field in fields.items():
            key = f"{prefix}{name}"
            if name in raw:
                kwargs[name] = self.value(hints[name], raw[name], key)
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                self.fail(key, f"missing required key (expected {_type_name(hints[name])})")
        try:
            return cls(**kwargs)
        except (ValueError, TypeError) as exc:  # __post_init__ validation
            self.fail(prefix.rstrip(".") or "<root>", str(exc))

    def value(self, tp: Any, raw: Any, key: str) -> Any:
        """raw (parsed YAML) checked against the annotation tp and converted to it; key is its dotted name in errors."""
        origin = get_origin(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.build(tp, raw, key + ".")
        if origin is Literal:
            if raw not in get_args(tp):
                self.fail(key, f"expected {_type_name(tp)}, got {raw!r}")
            return raw
        if origin in (Union, types.UnionType):
            return self._union(tp, raw, key)
        if origin is list or origin is tuple:
            return self._sequence(tp, origin, raw, key)
        if origin is dict:
            if not isinstance(raw, dict):
                self.fail(key, f"expected {_type_name(tp)}, got {type(raw).__name__}")
            _, vt = get_args(tp) or (str, Any)
            return {str(k): self.value(vt, v, f"{key}.{k}") for k, v in raw.items()}
        return self._scalar(tp, raw, key)

    def _union(self, tp: Any, raw: Any, key: str) -> Any:
        """The first member of the union tp (null only if it admits None) that raw converts to."""
        args = get_args(tp)
        if raw is None:
            if type(None) in args:
                return None
            self.fail(key, f"expected {_type_name(tp)}, got null")
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return self.value(arg, raw, key)
            except ConfigError as exc:
                errors.append(exc)
        self.fail(key, f"expected {_type_name(tp)}, got {type(raw).__name__} {raw!r}")

    def _sequence(self, tp: Any, origin: Any, raw: Any, key: str) -> Any:
        """raw as list[T], tuple[T, ...] or a fixed-length tuple[A, B, ...] (origin: list or tuple)."""
        if not isinstance(raw, (list, tuple)):
            self.fail(key, f"expected {_type_name(tp)}, got {type(raw).__name__} {raw!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(raw) != len(args):
                self.fail(key, f"expected {len(args)} items, got {len(raw)}")
            return tuple(self.value(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, raw, strict=True)))
        item = args[0] if args else Any
        items = [self.value(item, v, f"{key}[{i}]") for i, v in enumerate(raw)]
        return tuple(items) if origin is tuple else items

    def _scalar(self, tp: Any, raw: Any, key: str) -> Any:
        """raw as Any, bool, int, float or str (an int is accepted for a float, a bool for neither)."""
        if tp is Any:
            return raw
        if tp is bool:
            if not isinstance(raw, bool):
                self.fail(key, f"expected bool, got {type(raw).__name__} {raw!r}")
            return raw
        if tp is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.fail(key, f"expected int, got {type(raw).__name__} {raw!r}")
            return raw
        if tp is float:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                self.fail(key, f"expected float, got {type(raw).__name__} {raw!r}")
            return float(raw)
        if tp is str:
            if not isinstance(raw, str):
                self.fail(key, f"expected str, got {type(raw).__name__} {raw!r}")
            return raw
        raise TypeError(f"config schema: unsupported annotation {tp!r} for key '{key}'")


def parse_overrides(overrides: typing.Sequence[str]) -> dict[str, Any]:
    """['a.b=3', 'c=x'] -> {'a.b': 3, 'c': 'x'}; values are parsed as YAML scalars/lists."""
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"command-line override {item!r}: expected key=value (dotted keys for nesting)")
        try:
            parsed[key.strip()] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"command-line override {item!r}: value is not valid YAML ({exc.__class__.__name__})") from None
    return parsed


def _apply(raw: dict[str, Any], dotted: str, value: Any) -> None:
    node = raw
    parts = dotted.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(
                f"command-line override: key '{'.'.join(parts[: i + 1])}' is not a section, cannot set '{dotted}'")
        node = child
    node[parts[-1]] = value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping file (safe loader); any problem is one ConfigError line naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.__class__.__name__}: {exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def from_dict(cls: type[C], raw: dict[str, Any], source: str = "<dict>", override_keys: typing.Iterable[str] = ()) -> C:
    """Build the config dataclass cls from a plain mapping (YAML, a saved model's config.json, ...); the one way a
    dict becomes a config. Lists become tuples where the schema says tuple; any mismatch is one ConfigError
    (an InputError) line naming source and the dotted key."""
    return _Builder(source, set(override_keys)).build(cls, raw, "")


def load_config(cls: type[C], path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> C:
    """Build cls from an optional YAML file plus dotted overrides (overrides win)."""
    raw = read_yaml(path) if path is not None else {}
    parsed = parse_overrides(overrides)
    for key, value in parsed.items():
        _apply(raw, key, value)
    return from_dict(cls, raw, str(path) if path is not None else "<defaults>", parsed.keys())


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain YAML-ready dict of a config dataclass (tuples become lists)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write the resolved config as YAML (atomically); load_config(type(cfg), path) gives it back."""
    return atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
