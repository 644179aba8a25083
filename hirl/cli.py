"""The `hirl` command: parse arguments, check them (hirl.commands.arguments), hand them to the subcommand's module.

Subcommand modules are imported only when run, so `hirl --help` stays fast. Bad input ends in one
line on stderr and exit code 2 (argparse's own errors too).
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import errno
import importlib
import inspect
import io
import os
import re
import sys
import textwrap
import tokenize
import typing
from collections.abc import Callable, Sequence
from typing import Any

from hirl.errors import InputError

# name -> (help line, "module:function" that runs it)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "collect": ("collect demonstrations with the scripted expert into a Minari-compatible dataset",
                "hirl.commands.collect:run"),
    "data": ("inspect a dataset (hirl data info PATH) or import your own demonstrations (hirl data import FILE)",
             "hirl.commands.data:run"),
    "train": ("train a hierarchical agent or a baseline from a YAML config (imitation, or an RL stage: kind: rl)",
              "hirl.commands.train:run"),
    "eval": ("evaluate a trained run (imitation or RL) on chained tasks: report.json, plots, videos",
             "hirl.commands.evaluate:run"),
    "correct": ("language-correction session on a trained agent (web page or terminal)", "hirl.commands.correct:run"),
    "teleop": ("drive the robot from the keyboard and label segments with language", "hirl.commands.teleop:run"),
    "bench": ("run a benchmark and print what it measured", "hirl.commands.bench:run"),
    "demo": ("the main job: collect Tabletop demos, train hierarchical + flat, evaluate, write report + videos",
             "hirl.commands.demo:run"),
    "migrate": ("bring a run or run config written by an older hirl into the current layout, in place (RL runs "
                "before hirl 0.2; imitation configs with a flat head section)",
                "hirl.commands.migrate:run"),
    "compare": ("compare evaluation reports of runs, demos or benchmark seed folders: one table and one plot "
                "(mean +- std over seeds, and each seed)", "hirl.commands.compare:run"),
    "export": ("export a trained agent as TorchScript + a standalone loader (torch and numpy only) for deployment",
               "hirl.commands.export:run"),
}


# -- flags generated from a settings dataclass: the dataclass is the one declaration, `hirl collect` reads it
COLLECT_NOT_ON_CLI = ("replan",)  # CollectConfig fields without a `hirl collect` flag (library callers only)
_FLAG_TYPES: dict[Any, Callable[[str], Any]] = {int: int, float: float, str: str}


def field_comments(cls: type) -> dict[str, str]:
    """{field name: the one-line comment after its declaration} over the dataclass cls and its dataclass bases
    (a subclass's redeclaration wins). A field without one, or a class whose source cannot be read (an install
    without .py files), is simply absent: its flag gets a generic help text (tests/test_cli.py requires the comments)."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
            tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
        except (OSError, TypeError, tokenize.TokenError, SyntaxError):
            continue
        by_line = {tok.start[0]: tok.string.lstrip("#").strip() for tok in tokens if tok.type == tokenize.COMMENT}
        for number, line in enumerate(source.splitlines(), start=1):
            match = re.match(r"    (\w+)\s*:", line)
            if match and number in by_line:
                comments[match.group(1)] = by_line[number]
    return comments


def add_dataclass_flags(p: argparse.ArgumentParser, cls: type, skip: Sequence[str] = ()) -> None:
    """One --flag per init field of the dataclass cls (minus skip): --name-with-dashes, the field's type and default
    (a field without default is a required flag), help = the field's comment (else "<Class>.<field>" and its type).
    A dict field takes a JSON object (default None: the command parses it)."""
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    for f in dataclasses.fields(cls):
        if not f.init or f.name in skip:
            continue
        generic = f"{cls.__name__}.{f.name} ({getattr(hints[f.name], '__name__', hints[f.name])})"
        flag, help_text = "--" + f.name.replace("_", "-"), (comments.get(f.name) or generic).replace("%", "%%")
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if typing.get_origin(hints[f.name]) is dict:
            p.add_argument(flag, default=None, required=required, help=f"{help_text}, as a JSON object")
        elif hints[f.name] in _FLAG_TYPES:
            default = None if required else f.default
            p.add_argument(flag, type=_FLAG_TYPES[hints[f.name]], default=default, required=required, help=help_text)
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no command-line flag for type {hints[f.name]!r}")


def _add_collect(p: argparse.ArgumentParser) -> None:
    from hirl.data.collect_config import CollectConfig

    add_dataclass_flags(p, CollectConfig, skip=COLLECT_NOT_ON_CLI)
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="plugin module to import first, e.g. one registering the adapter of --env (repeatable)")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: --workers processes here; ray: --workers Ray tasks at a time (the ray extra)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="with --backend ray: 'auto' joins the running cluster, host:port that one (default: a local Ray)")
    p.add_argument("--out", required=True, help="dataset path")
    p.add_argument("--resume", action="store_true", help="continue an interrupted collection")


def _add_data(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = actions.add_parser("info", help="describe a dataset", description="describe a dataset")
    info.add_argument("path", help="dataset path")
    imp = actions.add_parser("import", help="your own demonstrations (npz / HDF5 / Minari) as a hirl dataset",
                             description="your own demonstrations (npz / HDF5 / Minari) as a hirl dataset; the file "
                                         "schema: docs/tutorials/import.md")
    imp.add_argument("file", help="a .npz or .h5/.hdf5 file, or a Minari dataset directory")
    imp.add_argument("--env", required=True, help="registered env the demonstrations were recorded in, e.g. hirl/Tabletop-v0")
    imp.add_argument("--out", required=True, help="dataset path to write")
    imp.add_argument("--format", choices=["npz", "hdf5", "minari"], default=None, help="file format (default: from the path)")
    imp.add_argument("--segment", default=None, metavar="HEURISTIC",
                     help="segments of a file without segment_ids / language labels: none (default: one per episode) | "
                          "gripper (split where the last action dimension changes sign) | fixed:N (N-step windows)")
    imp.add_argument("--command", dest="episode_command", default=None, metavar="TEXT",
                     help="task command of episodes without commands or labels (default: 'imported demonstration')")
    imp.add_argument("--env-kwargs", default=None, help="extra gym.make arguments of --env, as a JSON object")
    imp.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                     help="plugin module to import first, e.g. one registering the adapter of --env (repeatable)")


def _add_overrides(p: argparse.ArgumentParser, help_text: str) -> None:
    """The optional key=value words of a command (default [], so argparse never lists them as required)."""
    p.add_argument("overrides", nargs="*", default=[], metavar="KEY=VALUE", help=help_text)


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CONFIG_OR_RUN",
                   help="YAML run config (e.g. experiments/tabletop/hierarchical.yaml), or a run directory to resume "
                        "(an interrupted training continues from its checkpoints)")
    _add_overrides(p, "dotted key=value overrides, e.g. train.low.max_steps=500")
    p.add_argument("--out", default=None, help="run directory (default: runs/<config>-<time>); an existing one resumes")


def _add_eval(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="run directory of a trained agent")
    _add_overrides(p, "dotted key=value overrides of the run's config, e.g. replan.interval=50")
    p.add_argument("--episodes", type=int, default=None, help="number of evaluation chains (default: the run's eval.episodes)")
    p.add_argument("--agents", nargs="+", default=None, help="agents to evaluate (default: all of the run's)")
    p.add_argument("--out", default=None, help="output directory (default: RUN/eval)")
    p.add_argument("--instruction-map", default=None, metavar="FILE",
                   help="TSV of 'canonical instruction<TAB>phrasing' lines: oracle_high is also evaluated emitting each "
                        "phrasing instead of the canonical text (per-phrasing table in the report)")
    p.add_argument("--ground", action="store_true",
                   help="with --instruction-map: also run each variant with every phrasing grounded to a known skill "
                        "first (hirl.hierarchy.grounding), as the correction session grounds typed text")


def _add_correct(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory of a trained agent")
    p.add_argument("--ui", choices=["web", "terminal"], default="web", help="where the session runs")
    p.add_argument("--host", default="127.0.0.1", help="bind address (non-loopback needs --token)")
    p.add_argument("--port", type=int, default=8765, help="port of the web session")
    p.add_argument("--token", default=None, help="access token required from the browser")
    _add_session(p)
    p.add_argument("--out", default=None,
                   help="session directory (default: RUN-corrections-<time> beside RUN); an interrupted one continues")
    p.add_argument("--agent", default="hier_language",
                   help="the run's agent to correct: a two-level learned hierarchy with language or state subgoals "
                        "(state: takeovers only); a session keeps its agent")
    p.add_argument("--reopen", action="store_true", help="continue a session that was finished (refused otherwise)")
    p.add_argument("--no-retrain", action="store_true",
                   help="finish by writing the dataset only: nothing is fine-tuned or evaluated")


def _add_teleop(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", default="hirl/Tabletop-v0", help="environment id")
    p.add_argument("--out", required=True, help="dataset path the demonstrations are written to")
    p.add_argument("--ui", choices=["web", "terminal"], default="web", help="where the session runs")
    p.add_argument("--host", default="127.0.0.1", help="bind address (non-loopback needs --token)")
    p.add_argument("--port", type=int, default=8765, help="port of the web session")
    p.add_argument("--token", default=None, help="access token required from the browser")
    _add_session(p)


def _add_session(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="YAML SessionConfig (speed, max_fps, image_size, finetune, ...)")
    _add_overrides(p, "dotted key=value overrides of the session config, e.g. speed=0.5")
    p.add_argument("--autostart", action="store_true",
                   help="run episodes at once (for scripts); by default the session waits for start in the page")


def _add_bench(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=["envs"], help="which benchmark")
    p.add_argument("--episodes", type=int, default=200, help="expert episodes per measurement")
    p.add_argument("--out", default=None, help="also write the results as Markdown to this file")
    p.add_argument("--seed", type=int, default=0, help="base seed")


def _add_migrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="PATH", help="an RL run directory in the layout before hirl 0.2 (RUN/stages/, "
                   "RUN/models/low, ...), or an imitation run directory or run config with a flat head section")


def _add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="run directory of a trained agent")
    p.add_argument("agent", help="agent to export: hier_language or flat (each also +adapt)")
    p.add_argument("--out", required=True, help="folder to write (manifest.json, *.pt, hirl_policy.py, embeddings)")
    p.add_argument("--instruction", dest="instructions", action="append", default=[], metavar="TEXT",
                   help="a command or instruction the policy will get beyond the run dataset's (repeatable)")


def _add_demo(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="runs/demo", help="output directory (report.json, summary.md, plot, videos, run/, data/)")
    p.add_argument("--config", default=None, help="YAML config (default: the embedded demo config)")
    _add_overrides(p, "dotted key=value overrides, e.g. eval.episodes=10 collect.episodes=200")


def _add_compare(p: argparse.ArgumentParser) -> None:
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="[LABEL=]PATH: a report.json, an evaluation folder, a run directory (its eval/), a demo folder, "
                        "or a benchmark folder of seed<N>/ runs (each seed one sample); LABEL= names it in the table "
                        "(a label given twice pools its sources as seeds); diagnosis folders (diagnosis.json) compare "
                        "side by side")
    p.add_argument("--agents", nargs="+", default=None, help="agents to compare (default: every agent of the reports)")
    p.add_argument("--out", default=None, help="folder for compare.md, compare.json and compare.png "
                                               "(default: runs/compare-<time>)")


_ARGUMENTS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "collect": _add_collect, "data": _add_data, "train": _add_train, "eval": _add_eval, "correct": _add_correct,
    "teleop": _add_teleop, "bench": _add_bench, "demo": _add_demo, "migrate": _add_migrate, "compare": _add_compare,
    "export": _add_export,
}


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (`hirl collect: error: argument --seed: invalid int value: 'x'`, exit 2)
    instead of the usage block plus the error."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """A value outside an argument's choices names the closest choice: `hirl trian` -> unknown command 'trian';
        did you mean 'train'?"""
        choices = action.choices
        if choices is None or value in choices:
            return
        names = [str(c) for c in choices]
        close = difflib.get_close_matches(str(value), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (choose from {', '.join(names)})"
        if isinstance(action, argparse._SubParsersAction):
            raise argparse.ArgumentError(None, f"unknown command {value!r}{hint}")
        raise argparse.ArgumentError(action, f"invalid choice: {value!r}{hint}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hirl", description="Hierarchical imitation and reinforcement learning for robot control in MuJoCo.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__import__('hirl').__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (help_line, _) in SUBCOMMANDS.items():
        _ARGUMENTS[name](subs.add_parser(name, help=help_line, description=help_line))
    return parser


def _runner(name: str) -> Callable[[argparse.Namespace], int]:
    module, func = SUBCOMMANDS[name][1].split(":")
    return getattr(importlib.import_module(module), func)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = build_parser()
    # key=value overrides may follow options (argparse stops filling a positional list once an option intervenes)
    args, extra = parser.parse_known_args(argv)
    late = [e for e in extra if "=" in e and not e.startswith("-")]
    if late and hasattr(args, "overrides"):
        args.overrides = list(args.overrides) + late
        extra = [e for e in extra if e not in late]
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from hirl.commands.arguments import check_arguments, output_lock

    try:
        check_arguments(args)
        with output_lock(args):
            return int(_runner(args.command)(args) or 0)
    except InputError as exc:
        print(f"hirl {args.command}: error: {' '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hirl {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        # every hirl write is atomic (temp file, then rename) or journaled: what was written before stays valid; the
        # line starts on a line of its own (a progress bar may be half drawn)
        where = f"{exc.filename}: " if exc.filename else ""
        said = exc.strerror if exc.strerror and exc.strerror != os.strerror(exc.errno) else "no space left on device"
        print(f"\nhirl {args.command}: error: {where}{said} (what was written before stays valid; free space, then run "
              "the command again -- hirl collect with --resume -- or choose another --out)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
