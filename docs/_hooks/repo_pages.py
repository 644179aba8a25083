"""MkDocs hook (mkdocs.yml ``hooks:``): the site is built from the files where they live in the repository.

* ``README.md`` is the home page (``index.md``) and ``CHANGELOG.md`` the changelog page; the results pages under
  ``experiments/`` (``RESULTS*.md``, ``CORRECTIONS*.md``, rendered from their JSON by the experiment scripts) are pages
  at their repository path (``experiments/tabletop/RESULTS.md``). Nothing is copied into ``docs/`` by hand.
* Links are written repository-relative, so that they work on a code host as well: ``docs/rl.md`` links
  ``../experiments/maze/RESULTS.md``, a results page links ``../../docs/rl.md``. This hook rewrites each relative link
  to the site path of its target, and publishes any other repository file a page links to (a results JSON, a plot,
  a config) at its repository path, so that mkdocs' own link validation checks every link.
* A link to a file that does not exist is left alone: ``mkdocs build --strict`` fails on it.
"""
from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

# Pages outside docs/ by their repository path -> their path in the site (docs_dir-relative).
FIXED_PAGES = {"README.md": "index.md", "CHANGELOG.md": "changelog.md"}
# Results pages, found by these globs under the repository root; each keeps its repository path in the site.
RESULT_GLOBS = ("experiments/**/RESULTS*.md", "experiments/**/CORRECTIONS*.md", "experiments/**/GROUNDING*.md")
# A Markdown link or image: [text](target "title") or ![alt](target); group 2 is the target.
LINK = re.compile(r"(!?\[[^\]\n]*\]\()([^)\s]+)((?:\s+\"[^\"\n]*\")?\))")
FENCE = re.compile(r"^\s*(```|~~~)")

# repository path -> site path of every page and published file; filled by on_files, read by on_page_markdown.
_SITE_PATH: dict[str, str] = {}


def _repo_root(config: Any) -> Path:
    """The repository root: the folder of mkdocs.yml."""
    return Path(config["config_file_path"]).resolve().parent


def _outside_code(markdown: str) -> list[tuple[bool, str]]:
    """``markdown`` cut into ``(is_prose, chunk)`` pieces: fenced code blocks are not prose (their links stay)."""
    pieces: list[tuple[bool, str]] = []
    in_fence = False
    for line in markdown.splitlines(keepends=True):
        if FENCE.match(line):
            in_fence = not in_fence
            pieces.append((False, line))
        else:
            pieces.append((not in_fence, line))
    return pieces


def _relative_target(target: str) -> tuple[str, str] | None:
    """``(path, '#anchor' or '')`` of a relative link, or None for a URL, an absolute path or an in-page anchor."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("/", "#")):
        return None
    path, _, anchor = target.partition("#")
    return path, f"#{anchor}" if anchor else ""


def _links(markdown: str) -> list[str]:
    """The targets of every Markdown link and image outside fenced code."""
    return [m.group(2) for prose, chunk in _outside_code(markdown) if prose for m in LINK.finditer(chunk)]


def _publish(files: Files, config: Any, root: Path, repo_path: str, site_path: str) -> None:
    """Add the repository file ``repo_path`` to the site as ``site_path`` (unless docs/ already has that path)."""
    if files.get_file_from_path(site_path) is None:
        files.append(File.generated(config, site_path, abs_src_path=str(root / repo_path)))
    _SITE_PATH[repo_path] = site_path


def on_files(files: Files, config: Any) -> Files:
    """Add the README, the changelog, the results pages and every repository file a page links to."""
    root = _repo_root(config)
    docs = Path(config["docs_dir"]).resolve()
    _SITE_PATH.clear()
    for file in files:  # docs/ (the theme's own files live elsewhere and are not linked from pages)
        if file.abs_src_path and Path(file.abs_src_path).resolve().is_relative_to(root):
            _SITE_PATH[Path(file.abs_src_path).resolve().relative_to(root).as_posix()] = file.src_uri
    pages = dict(FIXED_PAGES)
    for pattern in RESULT_GLOBS:
        pages.update({p.relative_to(root).as_posix(): p.relative_to(root).as_posix() for p in sorted(root.glob(pattern))})
    for repo_path, site_path in pages.items():
        if (root / repo_path).is_file():
            _publish(files, config, root, repo_path, site_path)
    # Files linked from any page (docs/ and the pages above) that are not pages themselves: published as they are.
    for repo_path in [p for p in list(_SITE_PATH) if p.endswith(".md")]:
        page_dir = posixpath.dirname(repo_path)
        for target in _links((root / repo_path).read_text(encoding="utf-8")):
            rel = _relative_target(target)
            if rel is None or not rel[0]:
                continue
            linked = posixpath.normpath(posixpath.join(page_dir, rel[0]))
            if linked in _SITE_PATH or linked.startswith("..") or not (root / linked).is_file():
                continue
            if (root / linked).resolve().is_relative_to(docs):
                continue  # in docs/ but excluded from the site: left to mkdocs' validation
            _publish(files, config, root, linked, linked)
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Rewrite each repository-relative link of the page to the site path of its target."""
    root = _repo_root(config)
    if not page.file.abs_src_path:
        return markdown
    page_dir = posixpath.dirname(Path(page.file.abs_src_path).resolve().relative_to(root).as_posix())
    site_dir = posixpath.dirname(page.file.src_uri)

    def rewrite(m: re.Match[str]) -> str:
        rel = _relative_target(m.group(2))
        if rel is None or not rel[0]:
            return m.group(0)
        site_path = _SITE_PATH.get(posixpath.normpath(posixpath.join(page_dir, rel[0])))
        if site_path is None:
            return m.group(0)
        return f"{m.group(1)}{posixpath.relpath(site_path, site_dir or '.')}{rel[1]}{m.group(3)}"

    return "".join(LINK.sub(rewrite, chunk) if prose else chunk for prose, chunk in _outside_code(markdown))
