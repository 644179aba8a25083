"""Typed configs: YAML -> frozen-schema dataclasses, with `base:` includes and dotted `key=value` overrides.

    cfg = load_config(DemoConfig, "experiments/tabletop/demo.yaml", ["replan.interval=10"])

A config file may name base files (`base: common.yaml`, or a list applied in order; paths relative to the file): its
own keys are deep-merged over theirs (mappings merged key by key, lists and scalars replaced), bases may have bases,
and the command-line overrides win over all of them (read_config_file, merge_over).

Unknown keys, missing required keys, wrong types and out-of-range values raise ConfigError with one line
naming the file (or the command-line override), the dotted key and the expected value.

A dataclass with a classmethod `config_variant(raw) -> subclass` is a tagged union: the loader builds the subclass it
picks from the raw keys (e.g. `replan: {rule: any_of, ...}`, hirl.hierarchy.replan.ReplanSpec; `head: {kind: ...}`,
hirl.policies.heads.config.HeadConfig), and `config_upgrade(raw) -> raw` drops what an older hirl wrote and this one
no longer reads.

A config class with an `imports: list[str]` field (the run configs) imports those plugin modules before building the
rest, so names they register (env adapters, components, replan rules, detectors) are valid in the same file.

Limits every config file is read under (so a hostile file fails at once instead of exhausting memory or time):
MAX_CONFIG_BYTES, and hirl.safeyaml's nesting and alias-expansion limits (MAX_DEPTH, MAX_NODES). Range rules applied to
every config dataclass by field name (GENERIC_MINIMUM, seeds, finite floats, 64-bit ints) sit beside the ones a
dataclass's __post_init__ checks; a __post_init__ raising FieldError(field, problem) is reported under that key.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints
from collections.abc import Callable, Mapping

import yaml

from hirl.registry import RegistryError

from hirl.errors import InputError
from hirl.fileio import atomic_write_text
from hirl.plugins import import_plugin
from hirl.safeyaml import MAX_DEPTH, LimitError, load_yaml_text

C = TypeVar("C")
_MISSING = object()

MAX_CONFIG_BYTES = 1 << 20  # a YAML config larger than this (1 MiB) is refused unread; real ones are a few KB
MAX_RECORD_BYTES = 64 << 20  # a JSON record (model config.json, checkpoint.json, metadata.json) larger than 64 MiB
INT_LIMIT = 2**63  # |int| in a config: beyond it numpy and torch overflow
SEED_MAX = 2**32 - 1  # fields named seed / *_seed must be in 0..SEED_MAX (numpy, torch and gymnasium all take it)
BASE_KEY = "base"  # a config file's key naming the file(s) its own keys are merged over (read_config_file)
MAX_BASE_FILES = 64  # base files one config reads in all (a deep chain or a wide diamond of includes stops here)
PLUGINS_KEY = "imports"  # a config field of this name lists plugin modules, imported before the rest is built
GENERIC_MINIMUM = {"episodes": 1, "final_episodes": 1, "workers": 1, "batch_size": 1, "max_steps": 1}  # counts by name
MAX_EPISODES = 1_000_000  # most episodes a config or flag may ask for (per-episode records are allocated up front)
GENERIC_MAXIMUM = {"episodes": MAX_EPISODES, "final_episodes": MAX_EPISODES, "eval_episodes": MAX_EPISODES}  # by name


class ConfigError(InputError):
    """A config could not be built; str(err) is one line naming where and what."""


class FieldError(InputError):
    """A config dataclass's __post_init__ rejecting one field: the config loader reports it under that field's key
    (FILE: key 'collect.episodes': must be >= 1), a command line under its flag (--episodes: must be >= 1)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def tagged_class(raw: Mapping[str, Any], key: str, lookup: Callable[[str], type], what: str,
                 absent: str | type) -> type:
    """The config class a tagged section names: lookup(raw[key]); without the key, absent (a name to look up, or the
    class itself). FieldError(key) for a name that is not a str or that no registry holds ("what" says which kind)."""
    if key not in raw and isinstance(absent, type):
        return absent
    name = raw.get(key, absent)
    if not isinstance(name, str):
        raise FieldError(key, f"expected {what}, got {type(name).__name__} {name!r}")
    try:
        return lookup(name)
    except RegistryError as exc:
        raise FieldError(key, str(exc)) from None


def at_least(name: str, value: float, minimum: float) -> None:
    """FieldError(name) unless value >= minimum (NaN fails too)."""
    if not value >= minimum:
        raise FieldError(name, f"must be >= {minimum}, got {value}")


def in_range(name: str, value: float, low: float, high: float) -> None:
    """FieldError(name) unless low <= value <= high (NaN fails too)."""
    if not low <= value <= high:
        raise FieldError(name, f"must be in {low}..{high}, got {value}")


def _short(value: Any, limit: int = 80) -> str:
    """repr(value), cut to limit characters (an error line stays one short line whatever the input)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


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


Source = str | Callable[[str], str]  # where a config came from: a name, or dotted key -> where it was set


def located_error(key: str, message: str, source: Source, override_keys: typing.Iterable[str] = ()) -> ConfigError:
    """ConfigError naming where the key came from: the override that set it (or set a key inside it, or the section
    holding it), else the source (a file path, or a function of the key: key_source)."""
    keys = set(override_keys)
    if key in keys:
        where = "command-line override"
    else:
        near = sorted(k for k in keys if k.startswith(key + ".") or key.startswith(k + "."))
        where = f"command-line override '{near[0]}'" if near else source(key) if callable(source) else source
    return ConfigError(f"{where}: key '{key}': {message}")


class _Builder:
    """Walks a dataclass schema and a raw mapping together, reporting the first mismatch."""

    def __init__(self, source: Source, override_keys: set[str]) -> None:
        self.source, self.override_keys = source, override_keys

    def fail(self, key: str, message: str) -> typing.NoReturn:
        raise located_error(key, message, self.source, self.override_keys)

    def build(self, cls: type, raw: Any, prefix: str) -> Any:
        if not isinstance(raw, dict):
            self.fail(prefix.rstrip(".") or "<root>", f"expected a mapping for {cls.__name__}, got {type(raw).__name__}")
        variant = getattr(cls, "config_variant", None)  # a tagged union: the class picks its subclass from the keys
        if variant is not None:
            try:
                chosen = variant(raw)
            except FieldError as exc:
                self.fail(f"{prefix}{exc.field}", exc.problem)
            if chosen is not cls:
                return self.build(chosen, raw, prefix)
        upgrade = getattr(cls, "config_upgrade", None)  # keys an older hirl wrote that this version drops
        if upgrade is not None:
            raw = upgrade(raw)
        hints = get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        for key in raw:
            if key not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                explain = getattr(cls, "config_unknown_hint", None)  # the class may know why an older file has key
                hint = (explain(str(key)) if explain is not None else None) or hint
                self.fail(f"{prefix}{key}", f"unknown key{hint}; known keys: {', '.join(fields)}")
        if not prefix and PLUGINS_KEY in fields and PLUGINS_KEY in raw:  # plugins first: they register names used below
            self._import_plugins(self.value(hints[PLUGINS_KEY], raw[PLUGINS_KEY], PLUGINS_KEY))
        kwargs = {}
        for name, field in fields.items():
            key = f"{prefix}{name}"
            if name in raw:
                kwargs[name] = self.value(hints[name], raw[name], key)
                self._generic_range(name, kwargs[name], key)
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                self.fail(key, f"missing required key (expected {_type_name(hints[name])})")
        try:
            return cls(**kwargs)
        except FieldError as exc:  # __post_init__ naming the field
            self.fail(f"{prefix}{exc.field}", exc.problem)
        except (ValueError, TypeError) as exc:  # __post_init__ validation
            self.fail(prefix.rstrip(".") or "<root>", str(exc))

    def _import_plugins(self, modules: typing.Sequence[str]) -> None:
        """Import the plugin modules a config names (hirl.registry.import_plugin), failures under key imports[i]."""
        for i, name in enumerate(modules):
            try:
                import_plugin(name)
            except InputError as exc:
                self.fail(f"{PLUGINS_KEY}[{i}]", str(exc))

    def _generic_range(self, name: str, value: Any, key: str) -> None:
        """The range rules every config shares by field name: counts >= GENERIC_MINIMUM, seeds in 0..SEED_MAX."""
        if isinstance(value, bool) or not isinstance(value, int):
            return
        if name in GENERIC_MINIMUM and value < GENERIC_MINIMUM[name]:
            self.fail(key, f"must be >= {GENERIC_MINIMUM[name]}, got {value}")
        if name in GENERIC_MAXIMUM and value > GENERIC_MAXIMUM[name]:
            self.fail(key, f"must be <= {GENERIC_MAXIMUM[name]}, got {value}")
        if (name == "seed" or name.endswith("_seed")) and not 0 <= value <= SEED_MAX:
            self.fail(key, f"must be in 0..{SEED_MAX}, got {value}")

    def value(self, tp: Any, raw: Any, key: str) -> Any:
        """raw (parsed YAML) checked against the annotation tp and converted to it; key is its dotted name in errors."""
        origin = get_origin(tp)
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            return self.build(tp, raw, key + ".")
        if origin is Literal:
            if raw not in get_args(tp):
                self.fail(key, f"expected {_type_name(tp)}, got {_short(raw)}")
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
        self.fail(key, f"expected {_type_name(tp)}, got {type(raw).__name__} {_short(raw)}")

    def _sequence(self, tp: Any, origin: Any, raw: Any, key: str) -> Any:
        """raw as list[T], tuple[T, ...] or a fixed-length tuple[A, B, ...] (origin: list or tuple)."""
        if not isinstance(raw, (list, tuple)):
            self.fail(key, f"expected {_type_name(tp)}, got {type(raw).__name__} {_short(raw)}")
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
                self.fail(key, f"expected bool, got {type(raw).__name__} {_short(raw)}")
            return raw
        if tp is int:
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.fail(key, f"expected int, got {type(raw).__name__} {_short(raw)}")
            if not -INT_LIMIT <= raw < INT_LIMIT:
                self.fail(key, f"expected a 64-bit int, got {_short(raw)}")
            return raw
        if tp is float:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                self.fail(key, f"expected float, got {type(raw).__name__} {_short(raw)}")
            try:
                value = float(raw)
            except OverflowError:  # an int beyond the float range
                value = math.inf
            if not math.isfinite(value):
                self.fail(key, f"expected a finite float, got {_short(raw)}")
            return value
        if tp is str:
            if not isinstance(raw, str):
                self.fail(key, f"expected str, got {type(raw).__name__} {_short(raw)}")
            return raw
        raise TypeError(f"config schema: unsupported annotation {tp!r} for key '{key}'")


def parse_overrides(overrides: typing.Sequence[str]) -> dict[str, Any]:
    """['a.b=3', 'c=x'] -> {'a.b': 3, 'c': 'x'}; values are parsed as YAML scalars/lists (under the file limits)."""
    parsed: dict[str, Any] = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"command-line override {_short(item)}: expected key=value (dotted keys for nesting)")
        try:
            parsed[key.strip()] = load_yaml_text(text) if text.strip() else ""
        except (yaml.YAMLError, LimitError) as exc:
            why = str(exc) if isinstance(exc, LimitError) else f"value is not valid YAML ({exc.__class__.__name__})"
            raise ConfigError(f"command-line override {_short(item)}: {why}") from None
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


def _read_capped(path: Path, limit: int, what: str) -> bytes:
    """The bytes of the file at path, or ConfigError when it is missing, unreadable or larger than limit bytes
    (read at most limit + 1 bytes, so /dev/zero or a FIFO cannot make it read forever)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what} ({exc.__class__.__name__}: {exc.strerror or exc})") from None
    if len(data) > limit:
        raise ConfigError(f"{path}: {what} is larger than {limit} bytes (the limit for a {what})")
    return data


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML mapping file (safe loader, within MAX_CONFIG_BYTES / MAX_DEPTH / MAX_NODES); any problem is one
    ConfigError line naming the file."""
    path = Path(path)
    try:
        text = _read_capped(path, MAX_CONFIG_BYTES, "config file").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read config (not UTF-8 text: {exc.reason} at byte {exc.start})") from None
    try:
        data = load_yaml_text(text)
    except LimitError as exc:
        raise ConfigError(f"{path}: config refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or exc).replace("\n", " ")
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if data is None:  # empty or comments only: most likely the wrong file; `{}` asks for every default explicitly
        raise ConfigError(f"{path}: config file has no keys (empty or comments only); write {{}} for all defaults")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def merge_over(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A new mapping: base with over's keys deep-merged over it (where both hold a mapping under a key the two are
    merged the same way; anything else in over, a list, a scalar or null, replaces base's value). Neither is changed."""
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        merged[key] = merge_over(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping of the YAML config file at path with its `base:` files resolved (resolve_bases); any problem is
    one ConfigError line naming the file (and the key `base` when a base file is the problem)."""
    path = Path(path)
    return resolve_bases(path, read_yaml(path))


def resolve_bases(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    """raw (the mapping read from the file at path) merged over its `base:` files, in order, each resolved the same
    way first; the result has no `base` key. ConfigError naming path and key `base` (`base[i]` in a list) for a value
    that is not a path or a list of paths, a base file that is missing or not a mapping, a cycle of base files, or
    more than MAX_BASE_FILES base files in all."""
    reads = [0]  # base files read so far, over the whole tree of includes

    def resolve(file: Path, own: dict[str, Any], chain: tuple[Path, ...]) -> dict[str, Any]:
        if BASE_KEY not in own:
            return own
        names = own[BASE_KEY]
        listed = isinstance(names, list)
        names = names if listed else [names]
        merged: dict[str, Any] = {}
        for i, name in enumerate(names):
            key = f"{BASE_KEY}[{i}]" if listed else BASE_KEY
            if not isinstance(name, str) or not name.strip():
                raise ConfigError(f"{file}: key '{key}': expected a config file path (relative to this file) or a list "
                                  f"of them, got {type(name).__name__} {_short(name)}")
            target = file.parent / name
            cycle = [p for p in chain if p.resolve() == target.resolve()]
            if cycle:
                loop = [*chain[chain.index(cycle[0]):], target]
                raise ConfigError(f"{file}: key '{key}': base files form a cycle: {' -> '.join(map(str, loop))}")
            reads[0] += 1
            if reads[0] > MAX_BASE_FILES:
                raise ConfigError(f"{file}: key '{key}': more than {MAX_BASE_FILES} base files in all (MAX_BASE_FILES)")
            try:
                base = read_yaml(target)
            except ConfigError as exc:
                raise ConfigError(f"{file}: key '{key}': base {exc}") from None
            merged = merge_over(merged, resolve(target, base, (*chain, target)))
        return merge_over(merged, {k: v for k, v in own.items() if k != BASE_KEY})

    return resolve(path, raw, (path,))


def key_source(path: str | Path) -> Callable[[str], str]:
    """dotted key -> where the config file at path (read_config_file) sets it: path itself, or 'BASE (a base of
    path)' for the base file it comes from (the last to set it, as merged); path for a key no file sets (a missing
    required key). Called for an error message only: it reads the files again."""

    def sets(raw: Any, parts: list[str]) -> bool:
        for part in parts:
            if not isinstance(raw, dict):
                return True  # the file sets a value above the key (a list, a scalar): the key comes from it
            if part not in raw:
                return False
            raw = raw[part]
        return True

    def origin(file: Path, parts: list[str], depth: int) -> Path | None:
        if depth > MAX_BASE_FILES:  # the files changed into a cycle since they were merged
            return None
        try:
            own = read_yaml(file)
        except ConfigError:
            return None
        if sets({k: v for k, v in own.items() if k != BASE_KEY}, parts):
            return file
        names = own.get(BASE_KEY, [])
        names = names if isinstance(names, list) else [names]
        for name in reversed(names):
            found = origin(file.parent / name, parts, depth + 1) if isinstance(name, str) else None
            if found is not None:
                return found
        return None

    def where(key: str) -> str:
        parts = re.sub(r"\[\d+\]", "", key).split(".")  # 'tags[0]' is set where 'tags' is
        found = origin(Path(path), parts, 0)
        return str(path) if found is None or found == Path(path) else f"{found} (a base of {path})"

    return where


def read_json(path: str | Path, what: str = "record", limit: int = MAX_RECORD_BYTES) -> Any:
    """Parse a JSON file written by hirl (a model's config.json, checkpoint.json, a dataset's metadata.json) within
    limit bytes and MAX_DEPTH levels; missing, unreadable or corrupt is one ConfigError line naming the file."""
    path = Path(path)
    data = _read_capped(path, limit, what)
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: corrupt {what} ({exc.__class__.__name__})") from None
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{path}: corrupt {what} (nested deeper than {MAX_DEPTH} levels)")
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return value


def from_dict(cls: type[C], raw: dict[str, Any], source: Source = "<dict>", override_keys: typing.Iterable[str] = ()) -> C:
    """Build the config dataclass cls from a plain mapping (YAML, a saved model's config.json, ...); the one way a
    dict becomes a config. Lists become tuples where the schema says tuple; any mismatch is one ConfigError
    (an InputError) line naming source and the dotted key."""
    return _Builder(source, set(override_keys)).build(cls, raw, "")


def load_config(cls: type[C], path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> C:
    """Build cls from an optional YAML file (with its `base:` files, read_config_file) plus dotted overrides (overrides
    win over the file and its bases)."""
    raw = read_config_file(path) if path is not None else {}
    parsed = parse_overrides(overrides)
    for key, value in parsed.items():
        _apply(raw, key, value)
    return from_dict(cls, raw, key_source(path) if path is not None else "<defaults>", parsed.keys())


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
    """Write the resolved config as YAML (atomically): every field, its base files' and overrides' values included, no
    `base:` key (the file stands alone); load_config(type(cfg), path) gives it back."""
    return atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))
