"""Every code example in README.md, CHANGELOG.md and docs/**/*.md (the user guide's pages) is a tested example.

- each ```python block runs as written, in a fresh namespace, with the working directory set to a temporary tree
  that holds what the blocks refer to: a tiny trained imitation run at runs/demo/run (agents hier_language and flat,
  the demo's replan rule, a few optimizer steps; the hash text encoder instead of MiniLM) and a tiny Tabletop
  dataset at data/tabletop. Nothing in the blocks is substituted: they name these paths themselves;
- each `hirl ...` line of a ```bash / ```sh block or an indented code block parses with hirl's own argparse parser
  (hirl.cli.build_parser; nothing is run). Usage notation is read as: [X] -> X, a|b -> a, "..." dropped;
- each `python -c "..."` line of a ```bash / ```sh block runs (with its VAR=value prefix) in the same tree;
- every experiments/... path, hirl/... or tests/... file path, relative Markdown link and hirl.module[.name]
  reference mentioned anywhere in these files exists.
"""
from __future__ import annotations

import contextlib
import glob
import importlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hirl.cli import SUBCOMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL_LANGS = ("bash", "sh", "shell", "console")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def fenced_blocks(path: Path) -> list[tuple[str, int, str]]:
    """(language, first line number, code) of every fenced block of a Markdown file, in order."""
    blocks: list[tuple[str, int, str]] = []
    lang: str | None = None  # the language of the block being read; None outside blocks
    start, lines = 0, list[str]()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if lang is None and line.startswith("```"):
            lang, start, lines = line[3:].strip().lower(), number + 1, []
        elif lang is not None and line.startswith("```"):
            blocks.append((lang, start, "\n".join(lines) + "\n"))
            lang = None
        elif lang is not None:
            lines.append(line)
    assert lang is None, f"{rel(path)}: unclosed code block from line {start}"
    return blocks


def indented_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped line) of the indented code lines (4+ spaces, outside fenced blocks) of a Markdown file."""
    indented, fenced = [], False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("    ") and line.strip():
            indented.append((number, line.strip()))
    return indented


def python_blocks() -> list[Any]:
    out = []
    for path in DOC_FILES:
        blocks = [(start, code) for lang, start, code in fenced_blocks(path) if lang == "python"]
        out += [pytest.param(path, start, code, id=f"{rel(path)}#{i}") for i, (start, code) in enumerate(blocks)]
    return out


def commands_of(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The command lines of a block of (line number, line): with "$ " prompts, only the prompted lines (the others
    are output), prompt removed; without, every line."""
    prompted = [(n, line[2:]) for n, line in block if line.startswith("$ ")]
    return prompted or block


def shell_lines() -> list[tuple[Path, int, str]]:
    """(file, line number, command line) of the shell blocks and indented code blocks of every doc file."""
    out = []
    for path in DOC_FILES:
        for lang, start, code in fenced_blocks(path):
            if lang in SHELL_LANGS:
                block = [(start + k, line.strip()) for k, line in enumerate(code.splitlines()) if line.strip()]
                out += [(path, n, line) for n, line in commands_of(block)]
        block = []  # an indented block = consecutive indented lines; the sentinel (-2, "") ends the last one
        for number, line in [*indented_lines(path), (-2, "")]:
            if block and number != block[-1][0] + 1:
                out += [(path, n, cmd) for n, cmd in commands_of(block)]
                block = []
            block.append((number, line))
    return out


HIRL_LINES = [pytest.param(line, id=f"{rel(p)}:{n}") for p, n, line in shell_lines() if line.startswith("hirl ")]
PYTHON_C_LINES = [pytest.param(line, id=f"{rel(p)}:{n}") for p, n, line in shell_lines()
                  if re.match(r"^(\w+=\S+ )*python -c ", line)]


@pytest.fixture(scope="module")
def doc_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tree the examples run in: data/tabletop (4 expert episodes) and runs/demo/run trained on it."""
    from hirl.data.collect import collect
    from hirl.data.collect_config import CollectConfig
    from hirl.learn.run import train_run
    from hirl.learn.run_config import CollectSpec, EvalSpec, RunConfig, TrainingBudgets
    from hirl.learn.trainer import TrainerConfig

    root = tmp_path_factory.mktemp("docs")
    data = root / "data" / "tabletop"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=4, workers=1, seed=3, chain_length=2), data, progress=False)
    tiny = TrainerConfig(max_steps=12, batch_size=32, eval_every=6, checkpoint_every=6, progress=False, tensorboard=False)
    cfg = RunConfig(dataset=str(data), collect=CollectSpec(episodes=4, chain_length=2, seed=3),
                    agents=["hier_language", "flat"], text_encoder="hash", val_fraction=0.25,
                    train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny),
                    eval=EvalSpec(episodes=1, chain_length=2, videos=0))  # the demo's agents and replan rule
    train_run(cfg, root / "runs" / "demo" / "run", progress=False)
    return root


def test_the_examples_are_found() -> None:
    assert {"README.md", "docs/datasets.md"} <= {rel(p) for p in DOC_FILES}
    assert len(python_blocks()) >= 2 and len(HIRL_LINES) >= 20


def test_readme_opens_with_the_two_commands() -> None:
    lang, start, code = fenced_blocks(ROOT / "README.md")[0]
    assert lang == "bash" and start == 4, "README.md: the first block must be the make demo / make test commands"
    assert [line.split("#")[0].strip() for line in code.splitlines()] == ["make demo", "make test"]


@pytest.mark.parametrize(("path", "start", "code"), python_blocks())
def test_python_block_runs(path: Path, start: int, code: str, doc_tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(doc_tree)
    # a line offset so a traceback names the Markdown file's own line numbers
    exec(compile("\n" * (start - 1) + code, str(path), "exec"), {"__name__": "__doc_example__"})


def usage_to_argv(line: str) -> list[str]:
    """A documented command line -> argv: shell words without the comment; [X] -> X, a|b -> a, "..." dropped."""
    argv = []
    for word in shlex.split(line, comments=True):
        if word.startswith("[") and word.endswith("]") and word.count("[") == 1 == word.count("]"):
            word = word[1:-1]  # [--flag]
        elif word.startswith("[") and word.count("[") > word.count("]"):
            word = word[1:]  # [--flag VALUE]: the opening word
        elif word.endswith("]") and word.count("]") > word.count("["):
            word = word[:-1]  # ... and its closing word
        if "|" in word and not word.startswith("{"):
            word = word.split("|")[0]  # web|terminal: one of the alternatives
        if word and word != "...":
            argv.append(word)
    return argv


@pytest.mark.parametrize("line", HIRL_LINES)
def test_hirl_command_parses(line: str) -> None:
    argv = usage_to_argv(line)[1:]
    assert argv and (argv[0] in SUBCOMMANDS or argv[0] in ("--help", "--version")), f"unknown subcommand in: {line}"
    parser, out = build_parser(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            _, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help / --version exit 0; a parse error exits 2
        assert exc.code == 0 and ("--help" in argv or "--version" in argv), f"{line}\n{out.getvalue()}"
        return
    # as hirl.cli.main: key=value overrides after options are accepted, nothing else is left over
    assert [e for e in extra if "=" not in e or e.startswith("-")] == [], f"unrecognized arguments in: {line}"


@pytest.mark.parametrize("line", PYTHON_C_LINES)
def test_python_c_line_runs(line: str, doc_tree: Path) -> None:
    words = shlex.split(line, comments=True)
    env = dict(os.environ)
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[:2] == ["python", "-c"], line
    done = subprocess.run([sys.executable, *words[1:]], cwd=doc_tree, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{line}\n{done.stderr}"


PATH_PATTERN = re.compile(r"(?<![\w./-])(?:experiments/[\w.*/-]+|(?:hirl|tests)/[\w/]+(?:\.py\b|/))")
NAME_PATTERN = re.compile(r"(?<![\w./-])hirl(?:\.[A-Za-z_]\w*)+")
LINK_PATTERN = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def mentioned(pattern: re.Pattern[str]) -> list[Any]:
    found: dict[str, str] = {}
    for path in DOC_FILES:
        for match in pattern.findall(path.read_text()):
            found.setdefault(match.rstrip(".,:;"), rel(path))
    return [pytest.param(m, id=f"{where}:{m}") for m, where in sorted(found.items())]


@pytest.mark.parametrize("path", mentioned(PATH_PATTERN))
def test_mentioned_path_exists(path: str) -> None:
    assert glob.glob(str(ROOT / path)), f"{path}: no such file or directory in the repository"


def test_relative_links_resolve() -> None:
    missing = [f"{rel(path)}: {target}" for path in DOC_FILES for target in LINK_PATTERN.findall(path.read_text())
               if "://" not in target and not (path.parent / target).exists()]
    assert missing == []


@pytest.mark.parametrize("name", mentioned(NAME_PATTERN))
def test_mentioned_name_resolves(name: str) -> None:
    """hirl.a.b.C: the longest importable module prefix, then attributes."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ModuleNotFoundError as exc:
            if exc.name != ".".join(parts[:k]):  # a module that exists failed to import: that is an error of its own
                raise
            continue
        for attr in parts[k:]:
            assert hasattr(obj, attr), f"{name}: {'.'.join(parts[:k])} has no attribute {attr!r}"
            obj = getattr(obj, attr)
        return
    pytest.fail(f"{name}: no such module")
