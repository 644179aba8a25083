"""Start-up hook that registers hirl's Gymnasium envs as soon as gymnasium is imported, so gym.make("hirl/Maze-v0")
works in a program that never imports hirl or hirl_envs.

Gymnasium 1.x dropped the plugin loader that used to call the "gymnasium.envs" entry points; hirl still declares its
registration function there (pyproject.toml) and this hook calls the entry points of the hirl distribution itself.
setup.py ships this file's source as hirl-gymnasium-envs.pth (site runs an `import` line of a .pth at start-up): it
imports nothing heavy, puts a one-shot finder first on sys.meta_path, and on the first `import gymnasium` lets
gymnasium load, then runs the entry points. Any failure is reported as a warning, never raised at start-up.
"""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType

ENTRY_POINT_GROUP = "gymnasium.envs"  # the entry-point group gymnasium < 1.0 loaded plugins from
DISTRIBUTION = "hirl"  # only this distribution's entry points are called


def register_entry_points() -> None:
    """Call every DISTRIBUTION entry point in ENTRY_POINT_GROUP (each registers its env ids)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        points = [p for p in distribution(DISTRIBUTION).entry_points if p.group == ENTRY_POINT_GROUP]
    except PackageNotFoundError:  # source tree without an install: nothing declared
        return
    for point in points:
        point.load()()


class GymnasiumImportHook:
    """Meta-path finder for the one module name "gymnasium": finds it with the other finders, and wraps the loader's
    exec_module so the entry points run right after gymnasium's own __init__ (then the hook removes itself)."""

    @classmethod
    def find_spec(cls, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> ModuleSpec | None:
        if name != "gymnasium":
            return None
        if cls in sys.meta_path:
            sys.meta_path.remove(cls)
        import importlib.util

        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if spec is None or exec_module is None:
            return spec

        def run(module: ModuleType) -> None:
            exec_module(module)
            try:
                register_entry_points()
            except Exception as exc:  # never break `import gymnasium` over our registration
                import warnings

                warnings.warn(f"hirl: registering the hirl/ Gymnasium envs failed: {exc!r}")

        loader.exec_module = run  # type: ignore[union-attr]  # this spec's own loader instance
        return spec


def install() -> None:
    """Put the hook first on sys.meta_path (no-op when gymnasium is already imported or the hook is in place)."""
    if "gymnasium" not in sys.modules and GymnasiumImportHook not in sys.meta_path:
        sys.meta_path.insert(0, GymnasiumImportHook)


install()
