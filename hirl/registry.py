"""One small generic registry, one instance per extension point.

    @REPLAN_RULES.register("fixed_interval")
    class FixedInterval: ...

    rule = REPLAN_RULES.build("fixed_interval", n=10)

A registry that misses a name first loads the installed plugins (hirl.plugins.load_entry_point_plugins).
"""
from __future__ import annotations

from typing import Any, Generic, TypeVar
from collections.abc import Callable, Iterator

from hirl.plugins import load_entry_point_plugins

T = TypeVar("T")


class RegistryError(KeyError):
    """An unknown name was looked up; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(Generic[T]):
    """Maps names to factories (classes or functions) of one kind of component."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register a factory under name; registering a name twice is an error."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries and self._entries[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is already registered to {self._entries[name]!r}")
            self._entries[name] = factory
            return factory

        return decorate

    def get(self, name: str) -> Callable[..., T]:
        if name not in self._entries:
            load_entry_point_plugins()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise RegistryError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def build(self, name: str, **kwargs: Any) -> T:
        return self.get(name)(**kwargs)

    def names(self) -> list[str]:
        load_entry_point_plugins()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            load_entry_point_plugins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


REPLAN_RULES: Registry[Any] = Registry("replan rule")
COMPLETION_DETECTORS: Registry[Any] = Registry("completion detector")
ENCODERS: Registry[Any] = Registry("encoder")
GOAL_ENCODERS: Registry[Any] = Registry("goal encoder")  # how a goal-conditioned low level encodes one subgoal kind
ACTION_HEADS: Registry[Any] = Registry("action head")  # how a policy turns its conditioning features into actions
