"""RunDir: the one layout of a run directory, for imitation and RL runs alike.

    RUN/config.yaml                    the run's config (`kind: imitation` or `kind: rl`; an RL run holds the
                                       config of the stage trained last)
    RUN/models/<component>/            a trained component: a PolicyModule (config.json + weights.safetensors),
                                       an SB3 model (model.zip) or the planner's graph (graph.npz)
    RUN/models/adapted/<component>/    the same component after an adapt / fine-tuning stage
    RUN/train/<name>/                  training state of a component or RL stage: resumable checkpoints,
                                       metrics.csv / curve.json, TensorBoard logs (tb/), config.yaml, summary.json
    RUN/train/<stage>/<component>/     a fine-tuning stage's training state (e.g. train/adapt1/low_language)
    RUN/eval/                          `hirl eval` output (report.json, summary.md, chain_success.png, videos/)

FolderLock: one writer per output folder (run, dataset, eval output, demo folder), named in a second writer's error.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from hirl.config import read_config_file
from hirl.errors import InputError
from hirl.plugins import import_plugins

CONFIG_FILE = "config.yaml"
ADAPTED = "adapted"  # models/<ADAPTED>/<component>: components after an adapt stage
DEFAULT_KIND = "imitation"  # the run kind of a config without a `kind:` key


class RunDir:
    """Paths of one run directory (see the module docstring); nothing is created until a writer asks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # -- config -------------------------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    def require(self) -> RunDir:
        """self, or InputError in one line when the folder is not a run directory (no config.yaml)."""
        if self.path.is_file():
            run = f"runs/{self.path.stem}"
            raise InputError(f"{self.path}: a file, not a run directory; train a run from a config first: "
                             f"hirl train {self.path} --out {run} (then give {run})")
        if not self.config_path.is_file():
            raise InputError(f"{self.path}: not a run directory (no {CONFIG_FILE}); "
                             f"train one with: hirl train CONFIG --out {self.path}")
        if (self.path / "stages").is_dir() and not (self.path / "train").is_dir():
            raise InputError(f"{self.path}: RL run in the layout before hirl 0.2 (stages/); move it in place with: "
                             f"hirl migrate {self.path}")
        return self

    def kind(self) -> str:
        """The run kind named by config.yaml's `kind:` key (DEFAULT_KIND without one)."""
        return config_kind(self.require().config_path)

    # -- components -----------------------------------------------------------------------------------------------
    def model_dir(self, component: str, adapted: bool = False) -> Path:
        """RUN/models/<component>, or RUN/models/adapted/<component> after an adapt stage."""
        return self.path / "models" / (ADAPTED if adapted else "") / component

    def require_model(self, component: str, adapted: bool = False) -> Path:
        """model_dir(component, adapted), or InputError saying how to train it when it does not exist."""
        path = self.model_dir(component, adapted)
        if not path.is_dir():
            how = "enable adapt (adapt.enabled=true) or train an adapt stage" if adapted else "train it first: hirl train"
            raise InputError(f"{path}: no trained {component} in this run ({how})")
        return path

    # -- training state and outputs -------------------------------------------------------------------------------
    def train_dir(self, name: str, stage: str | None = None) -> Path:
        """RUN/train/<name> (a component's or an RL stage's training state), or RUN/train/<stage>/<name>."""
        return self.path / "train" / (stage or "") / name

    def stage_summary_path(self, stage: str) -> Path:
        """RUN/train/<stage>/summary.json: written when an RL stage finishes (removed when it starts)."""
        return self.train_dir(stage) / "summary.json"

    def stage_config_path(self, stage: str) -> Path:
        """RUN/train/<stage>/config.yaml: the resolved config an RL stage was trained with."""
        return self.train_dir(stage) / CONFIG_FILE

    @property
    def eval_dir(self) -> Path:
        return self.path / "eval"

    @property
    def summary_path(self) -> Path:
        return self.path / "train_summary.json"


def as_run_dir(run: str | Path | RunDir) -> RunDir:
    """run as a RunDir (paths are wrapped, a RunDir is returned as it is)."""
    return run if isinstance(run, RunDir) else RunDir(run)


def config_kind(path: str | Path) -> str:
    """The `kind:` of the YAML config at path, its base files included (DEFAULT_KIND when absent); InputError naming
    the file if unreadable.
    The config's `imports:` plugins are imported first (a plugin may register the run kind itself)."""
    raw = read_config_file(path)
    if isinstance(raw.get("imports"), list):
        import_plugins(raw["imports"], f"{path}: key 'imports'")
    kind = raw.get("kind", DEFAULT_KIND)
    if not isinstance(kind, str):
        raise InputError(f"{path}: key 'kind': expected a string, got {type(kind).__name__}")
    return kind


# -- one writer per output folder ---------------------------------------------------------------------------------
LOCK_FILE = ".lock"  # in the locked folder (training's RunLock uses the same name for RUN/train/<name>)


def _holder_record(text: str) -> dict[str, Any] | None:
    """A lock file's holder record (JSON object), None when unreadable."""
    try:
        h = json.loads(text)
    except ValueError:
        return None
    return h if isinstance(h, dict) else None


def describe_holder(text: str) -> str:
    """A lock file's holder record (JSON) -> 'pid 123 on host (`hirl collect ...`, since 2025-01-01 12:00:00)'."""
    h = _holder_record(text)
    if h is None:
        return "another process"
    where = f" on {h['host']}" if h.get("host") else ""
    cmd = f"`{str(h['command'])[:120]}`, " if h.get("command") else ""
    return f"pid {h.get('pid', '?')}{where} ({cmd}since {h.get('since', '?')})"


def holder_kind(text: str, asking: str) -> str:
    """Who holds a folder, for the refusal of an `asking` writer: "another <what>" when the holder record names the
    same kind of writer (or none: older records), else "a <what>" / "an <what>" of the kind it names ("a correction
    session" to a teleop session)."""
    h = _holder_record(text)
    what = h.get("what") if h is not None else None
    if not isinstance(what, str) or not what or what == asking:
        return f"another {asking}"
    return f"{'an' if what[0] in 'aeiou' else 'a'} {what}"


def _holder(what: str) -> dict[str, Any]:
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    prog = "hirl" if prog in ("hirl", "cli.py", "__main__.py") else prog
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join([prog, *sys.argv[1:]]),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"), "what": what}


class FolderLock:
    """Exclusive advisory flock on FOLDER/.lock: one writer per output folder (dataset, run, eval output, demo).

        with FolderLock(out, "collection"):     # InputError naming the holder (pid, host, command) if another has it
            ...

    The OS releases the flock when the holder exits, even on kill -9; the holder writes who it is (pid, host, command,
    and `what` it is) into the file so a second writer's one-line error names it: "in use by another collection", or,
    for a writer of another kind, "in use by a correction session" (never the asking writer's own kind). Release removes the lock file, and (remove_created) the folders that
    acquire created when they are still empty, so a command that fails after taking the lock leaves the disk as it
    found it.
    Not re-entrant: a second acquire of a held folder fails, also in the holding process."""

    def __init__(self, folder: str | Path, what: str = "writer", name: str = LOCK_FILE, remove_created: bool = True) -> None:
        self.folder = Path(folder)
        self.what = what
        self.name = name  # the lock file (another name locks one output file of a folder: .<file>.lock)
        self.remove_created = remove_created  # False: folders acquire created stay after release, even when empty
        self._fd: int | None = None
        self._created: list[Path] = []

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _make_folder(self) -> None:
        missing = []
        p = self.folder.absolute()
        while not p.exists() and p != p.parent:
            missing.append(p)
            p = p.parent
        if p.exists() and not p.is_dir():
            raise InputError(f"{self.folder}: {p} is a file, not a folder")
        if self.folder.exists() and not self.folder.is_dir():
            raise InputError(f"{self.folder}: exists and is not a folder")
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                self._remove_created()
                raise InputError(f"{self.folder}: cannot create the {self.what} folder ({exc.strerror or exc})") from None
            self._created.append(d)

    def _remove_created(self) -> None:
        if not self.remove_created:
            self._created = []
            return
        for d in reversed(self._created):
            try:
                d.rmdir()  # only when still empty
            except OSError:
                break
        self._created = []

    def acquire(self) -> FolderLock:
        import fcntl

        if self._fd is not None:
            raise RuntimeError(f"{self.folder}: FolderLock acquired twice")
        self._make_folder()
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                self._remove_created()
                raise InputError(f"{self.folder}: cannot use as the {self.what} folder ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                record = os.pread(fd, 4096, 0).decode("utf-8", "replace")
                os.close(fd)
                self._remove_created()
                raise InputError(f"{self.folder}: in use by {holder_kind(record, self.what)} ({describe_holder(record)}); "
                                 "wait for it to finish or use another --out") from None
            try:  # a releasing holder may have unlinked the file between our open and flock: lock the current one
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_holder(self.what)) + "\n").encode("utf-8"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding: a waiting writer re-opens the new file
        finally:
            os.close(fd)
        self._remove_created()

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
