"""The user guide builds: `mkdocs build --strict` (mkdocs.yml; what `make docs` runs) into a temporary folder.

Strict mode turns every warning into a failure, and mkdocs.yml's `validation:` makes a broken link, a missing anchor,
an absolute link or a page left out of the nav a warning; the API reference (mkdocstrings) fails on a docstring it
cannot render. Needs the `docs` extra (`make setup EXTRAS=dev,docs`, as CI installs it).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MISSING = [m for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"the docs extra is not installed (no {', '.join(MISSING)}): "
                                          "pip install -c requirements/lock.txt -e '.[docs]'")
def test_user_guide_builds_strict(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    problems = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert proc.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(problems or [proc.stderr[-3000:]])
    assert (tmp_path / "site" / "index.html").is_file()
    # The results pages are built from where they live (docs/_hooks/repo_pages.py), not copied into docs/.
    assert (tmp_path / "site" / "experiments" / "tabletop" / "RESULTS" / "index.html").is_file()
