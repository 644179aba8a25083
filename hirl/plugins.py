"""Plugins: modules outside hirl that register entries in hirl's registries (an EnvAdapter in
hirl.integrations.ENVIRONMENTS, a policy component, a replan rule, a completion detector, ...) when imported.

A plugin module is imported when a run config names it (`imports: [my_pkg.module]`, read by hirl.config), when
`hirl collect --import my_pkg.module` names it, or, for an installed package, through the entry-point group
PLUGIN_GROUP ("hirl.plugins", the name of this module), loaded the first time any registry misses a name.
import_plugins remembers what it imported, so worker processes (collection) import the same modules.
"""
from __future__ import annotations

import importlib
from collections.abc import Sequence

from hirl.errors import InputError

PLUGIN_GROUP = "hirl.plugins"  # entry-point group of installed plugin packages (value: the module to import)
_imported: list[str] = []  # plugin modules imported by import_plugins, in order (passed on to worker processes)
_entry_points_loaded = False


def import_plugin(name: str) -> None:
    """Import one plugin module (its import registers its entries); InputError(problem) when it cannot be imported."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"expected a module name such as my_pkg.plugin, got {name!r}")
    try:
        importlib.import_module(name)
    except Exception as exc:  # ImportError, or whatever the plugin's own import raised
        raise InputError(f"cannot import plugin module {name!r} ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:200]})") from None
    if name not in _imported:
        _imported.append(name)


def import_plugins(modules: Sequence[str], where: str = "imports") -> None:
    """import_plugin each module; the InputError names where[i] (e.g. --import, a config key)."""
    for i, name in enumerate(modules):
        try:
            import_plugin(name)
        except InputError as exc:
            raise InputError(f"{where}[{i}]: {exc}") from None


def imported_plugins() -> tuple[str, ...]:
    """The plugin modules import_plugins has imported in this process, in order."""
    return tuple(_imported)


def load_entry_point_plugins() -> None:
    """Import every module of the PLUGIN_GROUP entry points of the installed distributions (once per process)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=PLUGIN_GROUP):
        try:
            point.load()
        except Exception as exc:
            raise InputError(f"entry point {point.name!r} ({PLUGIN_GROUP}: {point.value}) failed to load "
                             f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
