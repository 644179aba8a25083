"""The one validation layer of `hirl` arguments, run by hirl.cli.main after parsing and before the command starts.

    check_arguments(args)          numeric ranges (LIMITS), --out paths (OUTPUTS), overrides caught by a list option,
                                   default output folders; InputError (one line naming the flag, exit 2) on bad input
    with output_lock(args): ...    the command's output folder locked for its whole run (a second writer exits 2
                                   naming the holder); a command that fails leaves the folder as it found it

Flags generated from CollectConfig are checked by its __post_init__ (hirl.commands.collect names the flag), config
files and key=value overrides by hirl.config; this module holds what is left: the arguments of the commands themselves.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hirl.config import MAX_EPISODES, SEED_MAX, FieldError
from hirl.errors import InputError

if TYPE_CHECKING:
    from hirl.runs.kinds import RunKind

PORT_MAX = 65535  # TCP ports are 16-bit (0: any free port)

# numeric arguments: (command, argument) -> inclusive (minimum, maximum or None); a None value (flag not given) passes
LIMITS: dict[tuple[str, str], tuple[float, float | None]] = {
    ("eval", "episodes"): (1, MAX_EPISODES),
    ("bench", "episodes"): (1, MAX_EPISODES),
    ("bench", "seed"): (0, SEED_MAX),
    ("correct", "port"): (0, PORT_MAX),
    ("teleop", "port"): (0, PORT_MAX),
}

# the output of each command that writes: its argument, "dir" (a folder) or "file", and what hirl.cli locks it as
# (None: the command locks it itself -- collect its dataset, in hirl.data.collect -- or its session code does)
OUTPUTS: dict[str, tuple[str, str, str | None]] = {
    "collect": ("out", "dir", None),
    "train": ("out", "dir", "training run"),
    "eval": ("out", "dir", "evaluation"),
    "bench": ("out", "file", "benchmark"),
    "demo": ("out", "dir", "demo"),
    "correct": ("out", "dir", None),
    "teleop": ("out", "dir", None),
    "compare": ("out", "dir", "comparison"),
    "export": ("out", "dir", "export"),
}


# what each command's output folder holds: an existing folder of another kind is refused (never mixed into)
OUTPUT_KINDS: dict[str, str] = {"collect": "dataset", "train": "run", "eval": "evaluation", "demo": "demo",
                                "correct": "session", "teleop": "dataset", "compare": "comparison", "data": "dataset"}
COMPARISON_FILE = "compare.json"  # what marks a `hirl compare` output folder (hirl.eval.compare writes it)


def folder_kind(path: Path) -> str | None:
    """What an existing hirl folder holds, from the files its writers put there first: session | dataset | run | demo |
    evaluation | comparison; None for a missing folder or anything else (an empty folder, someone else's files)."""
    if (path / "session.json").is_file():
        return "session"
    if (path / "data" / "metadata.json").is_file() or (path / "journal").is_dir():
        return "dataset"
    if (path / "config.yaml").is_file() and ((path / "models").is_dir() or (path / "train").is_dir()):
        return "run"
    if (path / "report.json").is_file():  # hirl demo's folder: its report beside the run it trained
        return "demo" if (path / "run" / "config.yaml").is_file() else "evaluation"
    if (path / COMPARISON_FILE).is_file():
        return "comparison"
    return None


def check_output_kind(command: str, value: str, flag: str = "--out", env: str | None = None) -> None:
    """InputError naming flag when the output folder of `command` is a hirl folder of another kind, lies inside a
    dataset (or inside a run or session, except an evaluation), or is a dataset of another env (env given)."""
    expected = OUTPUT_KINDS.get(command)
    if expected is None:
        return
    path = Path(value).absolute()
    kind = folder_kind(path)
    if kind is not None and kind != expected:
        raise InputError(f"{flag} {value}: is a {kind} folder; hirl {command} writes a {expected} (choose another {flag})")
    for parent in path.parents:
        outer = folder_kind(parent)
        if outer == "dataset" or (outer in ("run", "session") and expected != "evaluation"):
            raise InputError(f"{flag} {value}: inside the {outer} folder {parent}; choose a folder outside it")
    if env is not None and kind == "dataset" and (path / "data" / "metadata.json").is_file():
        from hirl.data.metadata import read_minari_metadata

        stored = read_minari_metadata(path).get("hirl", {}).get("env_id")
        if stored not in (None, env):
            raise InputError(f"{flag} {value}: a dataset of {stored!r}, not of --env {env!r} (choose another {flag})")


def check_arguments(args: argparse.Namespace) -> None:
    """Validate (and complete) parsed arguments in place; InputError naming the flag on the first bad one."""
    _overrides_from_lists(args)
    _flags_written_as_overrides(args)
    for (command, name), (low, high) in LIMITS.items():
        value = getattr(args, name, None) if args.command == command else None
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{flag}: expected a finite number, got {value}")
        if value < low or (high is not None and value > high):
            raise InputError(f"{flag}: must be {'>= ' + str(low) if high is None else f'in {low}..{high}'}, got {value}")
    _default_outputs(args)
    name, kind, _ = OUTPUTS.get(args.command, ("out", "dir", None))
    if args.command in OUTPUTS and getattr(args, name, None):
        check_output(getattr(args, name), kind, "--out" if name == "out" else name.upper())
        if name == "out":
            check_output_kind(args.command, args.out, env=getattr(args, "env", None) if args.command == "teleop" else None)


def _overrides_from_lists(args: argparse.Namespace) -> None:
    """key=value words a list option swallowed (`--agents flat eval.episodes=3`) are overrides, never list items."""
    if not hasattr(args, "overrides"):
        return
    for name, value in vars(args).items():
        if name == "overrides" or not isinstance(value, list):
            continue
        late = [v for v in value if isinstance(v, str) and "=" in v and not v.startswith("-")]
        if late:
            kept = [v for v in value if v not in late]
            if not kept:
                flag = "--" + name.replace("_", "-")
                raise InputError(f"{flag}: expected at least one name before the overrides {' '.join(late)}")
            setattr(args, name, kept)
            args.overrides = list(args.overrides or []) + late


# the positional arguments of the commands that take key=value overrides (never hinted at as --flags)
POSITIONALS: dict[str, tuple[str, ...]] = {"train": ("config",), "eval": ("run",), "correct": ("run",)}


def _flags_written_as_overrides(args: argparse.Namespace) -> None:
    """InputError for an override `name=value` whose name is an option of the command and no config key
    (`hirl eval RUN episodes=5` -> write --episodes 5)."""
    flags = {name for name in vars(args) if name not in ("command", "overrides", *POSITIONALS.get(args.command, ()))}
    for item in getattr(args, "overrides", None) or []:
        key, _, value = item.partition("=")
        name = key.strip().lstrip("-").replace("-", "_")
        if name not in flags or "." in name or name in _config_keys(args.command):
            continue
        flag = "--" + name.replace("_", "-")
        written = flag if isinstance(getattr(args, name), bool) else f"{flag} {value}"
        raise InputError(f"{item}: {flag} is an option of hirl {args.command}, not a config key; write {written}")


def _config_keys(command: str) -> set[str]:
    """The top-level keys of the configs a command's key=value overrides change (every run kind's, or the session's)."""
    import dataclasses

    if command in ("correct", "teleop"):
        from hirl.teleop.sessions.config import SessionConfig

        return {f.name for f in dataclasses.fields(SessionConfig)}
    from hirl.runs.kinds import RUN_KINDS

    return {f.name for kind in RUN_KINDS.names() for f in dataclasses.fields(RUN_KINDS.build(kind).config_cls)}


def _default_outputs(args: argparse.Namespace) -> None:
    """The output folder a command writes when --out is not given, named here so it is checked and locked too
    (`hirl train RUN` resumes RUN in place)."""
    from hirl.runs.rundir import RunDir

    if args.command == "train" and Path(args.config).is_dir():
        args.out = _resumed_run(args.config, args.out)
    elif args.command == "train" and not args.out:
        args.out = str(Path("runs") / f"{Path(args.config).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    elif args.command == "eval" and Path(args.run).is_file():
        run = f"runs/{Path(args.run).stem}"
        raise InputError(f"{args.run}: a config file, not a run directory; train it, then evaluate the run: "
                         f"hirl train {args.run} --out {run} && hirl eval {run}")
    elif args.command == "eval" and not args.out:
        args.out = str(RunDir(args.run).eval_dir)
    elif args.command == "compare" and not args.out:
        args.out = str(Path("runs") / f"compare-{time.strftime('%Y%m%d-%H%M%S')}")


def _resumed_run(path: str, out: str | None) -> str:
    """The run directory `hirl train PATH` resumes (PATH, a folder): InputError unless it is a run directory, and
    when --out names another folder."""
    from hirl.runs.rundir import RunDir

    folder = Path(path)
    if folder_kind(folder) == "demo":
        raise InputError(f"{path}: a demo folder; its run directory is {folder / 'run'} (resume it with: "
                         f"hirl train {folder / 'run'})")
    if not RunDir(folder).config_path.is_file():
        kind = folder_kind(folder)
        raise InputError(f"{path}: a {kind + ' ' if kind else ''}folder, neither a run directory (no config.yaml) nor a "
                         "config file; train a run with: hirl train CONFIG.yaml --out RUN, resume one with: hirl train RUN")
    RunDir(folder).require()  # an RL run in the layout before hirl 0.2: the `hirl migrate` line
    if out and Path(out).resolve() != folder.resolve():
        raise InputError(f"--out {out}: hirl train {path} resumes that run in place; drop --out "
                         "(or train a new run from a config: hirl train CONFIG.yaml --out NEW)")
    return path


def check_output(value: str, kind: str, flag: str = "--out") -> None:
    """InputError naming flag unless value can be the output `kind` ("dir" or "file"): not an existing file (dir) or
    folder (file), no file among its parents, and its missing folders creatable (tried, then removed again)."""
    path = Path(value)
    if kind == "dir" and path.exists() and not path.is_dir():
        raise InputError(f"{flag} {value}: exists and is not a folder")
    if kind == "dir" and path.exists() and path.resolve() == path.resolve().parent:
        raise InputError(f"{flag} {value}: is the filesystem root; name a folder for the output")
    if kind == "file" and path.is_dir():
        raise InputError(f"{flag} {value}: is a folder, expected a file path")
    if kind == "file" and path.exists() and not path.is_file():  # a device, FIFO or socket is never replaced
        raise InputError(f"{flag} {value}: exists and is not a regular file (a device, pipe or socket)")
    folder = path if kind == "dir" else path.absolute().parent
    missing = []
    p = folder.absolute()
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    if not p.is_dir():
        raise InputError(f"{flag} {value}: {p} is a file, not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError(f"{flag} {value}: {p} is not writable")
    created: list[Path] = []
    try:
        for d in reversed(missing):
            d.mkdir()
            created.append(d)
    except OSError as exc:
        raise InputError(f"{flag} {value}: cannot create {d} ({exc.strerror or exc})") from None
    finally:
        for d in reversed(created):
            with contextlib.suppress(OSError):
                d.rmdir()


@contextlib.contextmanager
def output_lock(args: argparse.Namespace) -> Iterator[None]:
    """Hold the lock on the command's output for its whole run (OUTPUTS); nothing for commands that lock themselves."""
    name, kind, what = OUTPUTS.get(args.command, ("out", "dir", None))
    out = getattr(args, name, None)
    if what is None or not out:
        yield
        return
    from hirl.runs.rundir import FolderLock

    path = Path(out)
    lock = FolderLock(path, what) if kind == "dir" else FolderLock(path.parent, what, name=f".{path.name}.lock")
    with lock:
        yield


def check_run_config(cfg: Any, source: str | Path, overrides: Sequence[str] = (), kind: RunKind | None = None) -> None:
    """What a run config names outside itself, checked before the command writes anything: its env and env_kwargs (by
    making the env once), when its dataset exists, obs_keys against the dataset's observation space, and what the run
    kind checks (kind.check: registry names training looks up later). InputError naming the config file (or the
    command-line override) and the key."""
    from hirl.data.episode_runner import check_env

    def where(key: str) -> str:
        overridden = any(o.split("=", 1)[0].strip().split(".")[0] == key for o in overrides)
        return "command-line override" if overridden else str(source)

    env, env_kwargs = getattr(cfg, "env", None), getattr(cfg, "env_kwargs", None) or {}
    if env is not None:
        try:
            check_env(env, env_kwargs)
        except FieldError as exc:
            raise InputError(f"{where(exc.field)}: key '{exc.field}': {exc.problem}") from None
    if kind is not None:
        try:
            kind.check(cfg)
        except FieldError as exc:
            raise InputError(f"{where(exc.field)}: key '{exc.field}': {exc.problem}") from None
    dataset, obs_keys = getattr(cfg, "dataset", None), getattr(cfg, "obs_keys", None)
    if dataset and obs_keys and (Path(dataset) / "data" / "metadata.json").is_file():
        from hirl.data.episode import space_shapes
        from hirl.data.metadata import read_minari_metadata

        stored = space_shapes(read_minari_metadata(dataset).get("observation_space"))
        unknown = [k for k in obs_keys if k not in stored] if isinstance(stored, dict) else []
        if isinstance(stored, dict) and unknown:
            raise InputError(f"{where('obs_keys')}: key 'obs_keys': the dataset {dataset} has no observation {unknown[0]!r} "
                             f"(it has: {', '.join(sorted(stored))})")
