"""One small generic registry, one instance per extension point.

    @REPLAN_RULES.register("fixed_interval")
    class FixedInterval: ...

    rule = REPLAN_RULES.build("fixed_interval", n=10)

An entry may also be declared lazily, by name, as "module:attr" (Registry(kind, lazy={...}) or declare()), or as
"module" alone for a module that registers the name itself when imported: the module is imported the first time
the name is looked up, so a registry can list entries that live in modules above
it in the dependency order without importing them (hirl.runs.catalog). names() and `in` do not import anything.
A registry that misses a name first loads the installed plugins (hirl.plugins.load_entry_point_plugins).
"""
from __future__ import annotations

import importlib
from typing import Any, Generic, TypeVar
from collections.abc import Callable, Iterator, Mapping

from hirl.errors import InputError
from hirl.plugins import load_entry_point_plugins

T = TypeVar("T")


class RegistryError(KeyError):
    """An unknown name was looked up; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to factories (classes or functions) of one kind of component."""

    def __init__(self, kind: str, lazy: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}
        self._lazy: dict[str, str] = {}  # name -> "module:attr", imported on the first get(name)
        for name, target in (lazy or {}).items():
            self.declare(name, target)

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register a factory under name; registering a name twice (or a lazily declared one) is an error."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if ":" in self._lazy.get(name, ""):
                raise ValueError(f"{self.kind} {name!r} is already declared as {self._lazy[name]!r}")
            self._lazy.pop(name, None)  # a module declared to register name is doing so
            if name in self._entries and self._entries[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is already registered to {self._entries[name]!r}")
            self._entries[name] = factory
            return factory

        return decorate

    def declare(self, name: str, target: str) -> None:
        """Register name lazily: target "package.module:attr" (attr may be dotted) is imported on the first get, or
        target "package.module" is imported then and registers name itself (with register())."""
        module, sep, attr = target.partition(":")
        if not module or bool(sep) != bool(attr):
            raise ValueError(f"{self.kind} {name!r}: expected 'module:attr' or 'module', got {target!r}")
        if name in self._entries or self._lazy.get(name, target) != target:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._lazy[name] = target

    def target(self, name: str) -> str | None:
        """The "module:attr" a lazily declared name resolves to (None for an entry registered by a decorator)."""
        return self._lazy.get(name)

    def get(self, name: str) -> Callable[..., T]:
        if name in self._lazy:
            self._resolve(name)
        if name not in self._entries:
            load_entry_point_plugins()
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(f"unknown {self.kind} {name!r} (known: {', '.join(self.names()) or 'none'})") from None

    def _resolve(self, name: str) -> None:
        """Import the module of a lazily declared name and register its attribute under the name."""
        target = self._lazy[name]
        module, _, attr = target.partition(":")
        try:
            obj: Any = importlib.import_module(module)
        except ImportError as exc:  # an optional dependency of that module (e.g. an extra) is not installed
            raise InputError(f"{self.kind} {name!r} needs {module}, which cannot be imported "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from exc
        if not attr:  # the module registers name itself when imported
            if name not in self._entries:
                raise ValueError(f"{self.kind} {name!r}: importing {module} did not register it")
            return
        for part in attr.split("."):
            obj = getattr(obj, part)  # AttributeError: the declaration names nothing (tests resolve every entry)
        self._entries[name] = obj
        del self._lazy[name]

    def build(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        """Every registered and declared name, sorted (imports nothing but the installed plugins)."""
        load_entry_point_plugins()
        return sorted({*self._entries, *self._lazy})

    def __contains__(self, name: object) -> bool:
        if name not in self._entries and name not in self._lazy:
            load_entry_point_plugins()
        return name in self._entries or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


REPLAN_RULES: Registry[Any] = Registry("replan rule")
COMPLETION_DETECTORS: Registry[Any] = Registry("completion detector")
ENCODERS: Registry[Any] = Registry("encoder")
GOAL_ENCODERS: Registry[Any] = Registry("goal encoder")  # how a goal-conditioned low level encodes one subgoal kind
ACTION_HEADS: Registry[Any] = Registry("action head")  # how a policy turns its conditioning features into actions
