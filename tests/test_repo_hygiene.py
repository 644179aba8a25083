"""No committed file names a folder of the machine it was written on (a run folder, a home, a scratch dir).

Results pages, docs and argparse defaults state repo-relative paths (``runs/...``); a command that needs scratch
space makes it (``OLD=$(mktemp -d)``, ``tempfile``, pytest's ``tmp_path``) instead of naming the temp folder. System
paths (``/usr/bin/chromium``, ``/dev/null``, ``/proc/...``) and URL paths (``/api/state``) are not machine folders
and are not matched. Every file git tracks or would add (untracked, not ignored) is scanned, text files only.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Folders that only exist on one machine: users' homes, scratch and work areas, temp dirs (macOS's included).
MACHINE_ROOTS = ("work", "root", "home", "Users", "mnt", "scratch", "tmp", "var/tmp", "var/folders", "private/var")
# An absolute path starts a token: line start, whitespace, a quote, or a shell/Python/Markdown delimiter before it
# (``${1:-/x}`` included; ``https://host/home/x`` and ``runs/tmp/x`` are not absolute paths).
MACHINE_PATH = re.compile(r"(?:^|(?<=[\s\"'`(=:;,\[{<>|-]))/(?:" + "|".join(map(re.escape, MACHINE_ROOTS)) + r")/"
                          r"|\b[A-Za-z]:\\(?:Users|Documents and Settings)\\")
# Lines allowed to name such a path anyway: {repo-relative file: substrings of the allowed lines} (keep this small).
ALLOWED: dict[str, tuple[str, ...]] = {}


def machine_paths(text: str, allowed: tuple[str, ...] = ()) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line of ``text`` naming a machine folder, except lines containing an
    ``allowed`` substring."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)
            if MACHINE_PATH.search(line) and not any(a in line for a in allowed)]


def repo_files() -> list[Path]:
    """Files git tracks plus the untracked ones it would add (not ignored), relative to the repository root."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=True).stdout.decode()
    return sorted({Path(p) for p in out.split("\0") if p})


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte or not UTF-8) or a file deleted from the work tree."""
    full = ROOT / path
    if not full.is_file():
        return None
    data = full.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _unmask(text: str) -> str:
    """The samples below carry an ``@`` inside each folder name so that this file itself names no machine folder."""
    return text.replace("@", "")


@pytest.mark.parametrize("line", [
    "python experiments/tabletop/affordance.py --runs /w@ork/bench/tt --out x",
    '    p.add_argument("--out", default="/w@ork/runs_h14/aff")',
    "git show HEAD:server.py > /t@mp/old_server.py",
    "PYTHONPATH=/h@ome/alice/hirl:/r@oot/x python -m hirl",
    '"command": "hirl eval /U@sers/bob/runs/tt"',
    "see `/m@nt/data/runs/x`",
    "cache in /v@ar/folders/xy/T/",
    "OUT=${2:-/w@ork/runs_h14/code}",
    r"C:\U@sers\bob\hirl",
])
def test_machine_path_is_found(line: str) -> None:
    line = _unmask(line)
    assert machine_paths(f"first line\n{line}\n") == [(2, line.strip())]


@pytest.mark.parametrize("line", [
    'CHROMIUM = "/usr/bin/chromium"',
    "cmd > /dev/null 2>&1",
    'open("/proc/net/tcp")',
    "https://example.org/home/index.html and http://127.0.0.1:8765/tmp/x",
    'conn.request("GET", "/api/state")',
    "hirl eval runs/tt --out runs/tmp/eval",
    "out = tmp_path / 'work' / 'x'",
    "OLD=$(mktemp -d) && tar -x -C \"$OLD\"",
])
def test_system_and_relative_paths_are_not_machine_paths(line: str) -> None:
    assert machine_paths(line) == []


def test_allowed_substring_exempts_its_line() -> None:
    text = _unmask("a @/work/x line\nanother @/work/y line\n")
    assert machine_paths(text, allowed=(_unmask("@/work/x"),)) == [(2, _unmask("another @/work/y line"))]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout of hirl")
def test_no_committed_file_names_a_machine_folder() -> None:
    problems = []
    for path in repo_files():
        text = text_of(path)
        if text is None:
            continue
        problems += [f"{path}:{n}: {line[:160]}" for n, line in machine_paths(text, ALLOWED.get(path.as_posix(), ()))]
    assert not problems, "absolute paths of this machine (use runs/..., mktemp or tmp_path):\n" + "\n".join(problems)


# Project history is not documentation: no committed file cites a tracker's issue ("issue 18", "issues 14, 15",
# "issue-18 low level"), a commit by its hash ("commit 854472d") or the design brief kept outside the repository.
# A statement says what is; a reproduction that needs an older version says which in words.
HISTORY_CITATION = re.compile(r"\bissues?[\s-]+#?\d+|\bcommits?\s+[0-9a-f]{7,40}\b|shared/DESIGN", re.IGNORECASE)


def history_citations(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of every line of ``text`` citing an issue number, a commit hash or shared/DESIGN."""
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if HISTORY_CITATION.search(line)]


@pytest.mark.parametrize("line", [
    "the low level of i@ssue 18",
    "Issues 14, 15, 17 (in progress)",
    "goal missed on the i@ssue-18 low level",
    "see i@ssue #30",
    "before = commit 8@54472d",
    "the design brief `../shared/D@ESIGN.md`",
])
def test_history_citation_is_found(line: str) -> None:
    line = _unmask(line)
    assert history_citations(f"ok\n{line}\n") == [(2, line)]


@pytest.mark.parametrize("line", [
    "open the issue tracker", "an issue with 3 seeds", "committed 854 files", "sha256: 854472d0e1f2",
    "the commit before the server hardening",
])
def test_plain_words_are_not_history_citations(line: str) -> None:
    assert history_citations(line) == []


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout of hirl")
def test_no_committed_file_cites_issues_commits_or_the_design_brief() -> None:
    this = Path(__file__).resolve().relative_to(ROOT).as_posix()
    problems = []
    for path in repo_files():
        if path.as_posix() == this:
            continue
        text = text_of(path)
        if text is None:
            continue
        problems += [f"{path}:{n}: {line[:160]}" for n, line in history_citations(text)]
    assert not problems, ("project history cited (say what is, not which issue or commit changed it):\n"
                          + "\n".join(problems))
