"""setuptools hooks (everything else is in pyproject.toml): ship envs/autoregister.py as a start-up .pth file, in
wheels (build_py) and in editable installs (editable_wheel), so hirl's Gymnasium envs need no import first."""
from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

PTH_NAME = "hirl-gymnasium-envs.pth"
HOOK_SOURCE = Path(__file__).resolve().parent / "envs" / "autoregister.py"


def pth_text() -> str:
    """One `import` line (site executes those at start-up) running the hook's source in a namespace of its own."""
    return f"import sys; exec({HOOK_SOURCE.read_text()!r}, {{'__name__': 'hirl_gymnasium_envs'}})\n"


class BuildPy(build_py):
    """build_py that also writes the .pth at the top of the build (so a wheel installs it into site-packages)."""

    def run(self) -> None:
        super().run()
        Path(self.build_lib, PTH_NAME).write_text(pth_text())

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(Path(self.build_lib, PTH_NAME))]


class EditableWheel(editable_wheel):
    """editable_wheel that also puts the .pth in the editable wheel (next to setuptools' own __editable__ .pth)."""

    def _install_namespaces(self, installation_dir: str, pth_prefix: str) -> None:  # setuptools' (private) hook
        super()._install_namespaces(installation_dir, pth_prefix)
        Path(installation_dir, PTH_NAME).write_text(pth_text())


setup(cmdclass={"build_py": BuildPy, "editable_wheel": EditableWheel})
