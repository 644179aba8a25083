"""pyproject lists packages by hand (envs/ installs as hirl_envs): every package folder must be listed."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_in_pyproject():
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(cfg["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "hirl").rglob("__init__.py")}
    envs = ROOT / "envs"
    found |= {".".join(("hirl_envs", *p.parent.relative_to(envs).parts)) for p in envs.rglob("__init__.py")}
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_torch_range_admits_the_on_disk_wheel_only_below_2_14():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch = next(d for d in deps if d.startswith("torch"))
    assert "<2.14" in torch


def test_package_version_matches_pyproject():
    from hirl.version import __version__

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == __version__
