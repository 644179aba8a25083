"""Where session episodes and corrected agents live.

EpisodeStore: episodes of a session (corrected rollouts, teleoperated demonstrations) through the dataset
writer: each finished episode is journaled atomically (DIR/journal/), and assemble() builds the Minari dataset
DIR/data from all journaled episodes (per-step subgoal text, its source and the intervention flag included).

prepare_session: a session directory laid out like a run directory, so load_agent / evaluate_run work on it:
    SESSION/session.json                   which run and which of its agents the session corrects (a session of
                                           another run, or of another agent, is refused)
    SESSION/config.yaml                    the run's config
    SESSION/models/<low, high>             the agent's two trained levels, named by its recipe (the "before" agent:
                                           AGENT, by default hier_language)
    SESSION/models/adapted/<low, high>     copies of them, fine-tuned on the session's interventions (the "after"
                                           agent: AGENT+adapt)
The agent is any two-level learned hierarchy of the run's agents with language or state subgoals
(hirl.learn.corrections.correctable_levels).
Model folders are copied beside their place and renamed into it whole, so a failed or killed command never
leaves a half-copied network that a later session would load."""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym

from hirl.version import __version__
from hirl.config import load_config, save_config
from hirl.data import load_dataset, schema
from hirl.data.assemble import write_dataset
from hirl.data.dataset import Dataset
from hirl.data.journal import Journal
from hirl.errors import InputError
from hirl.fileio import atomic_write_json
from hirl.learn.corrections import correctable_levels
from hirl.learn.run_config import RunConfig
from hirl.runs import RunDir

DEFAULT_AGENT = "hier_language"  # the agent a session corrects unless told otherwise (--agent)


class EpisodeStore:
    """Journal + Minari dataset of one session's episodes (indices continue after what is already journaled)."""

    def __init__(
        self, root: str | Path, env: gym.Env, env_id: str, policy: str, extra: Mapping[str, Any] | None = None,
        subgoal_kind: str = "language",
    ) -> None:
        self.root = Path(root)
        self.subgoal_kind = subgoal_kind  # the corrected hierarchy's subgoal kind (the dataset's metadata)
        self.journal = Journal(self.root / schema.JOURNAL_DIR)
        self.env, self.env_id, self.policy, self.extra = env, env_id, policy, dict(extra or {})
        self.journal.root.mkdir(parents=True, exist_ok=True)
        self.journal.clean_temporaries()
        if not self.journal.exists():
            self.journal.write_config({"env": env_id, "policy": policy, **self.extra})

    def next_index(self) -> int:
        done = self.journal.done()
        return done[-1] + 1 if done else 0

    def write(self, record: Mapping[str, Any]) -> Path:
        return self.journal.write(record)

    def __len__(self) -> int:
        return len(self.journal.done())

    def dataset(self, obs_keys: tuple[str, ...]) -> Dataset | None:
        """The assembled episodes (DIR/data, as of the last assemble()), None before the first."""
        return load_dataset(self.root, obs_keys=obs_keys, images=False) if (self.root / "data").is_dir() else None

    def assemble(self) -> Path | None:
        """(Re)build DIR/data from every journaled episode; None when there is none yet. The journal stays."""
        indices = self.journal.done()
        if not indices:
            return None
        base = self.env.unwrapped
        meta = {
            "hirl_version": __version__, "env_id": self.env_id, "env_kwargs": {},
            "control_rate_hz": round(1.0 / float(getattr(base, "dt", 1.0 / schema.CONTROL_RATE_HZ)), 6),
            "image_every": 0, "image_size": 0, "image_rate_hz": 0.0, "subgoal_kind": self.subgoal_kind,
            "collection": {"policy": self.policy, "assembled": time.strftime("%Y-%m-%dT%H:%M:%S"), **self.extra},
        }
        return write_dataset(self.root, (self.journal.read(i) for i in indices), meta=meta,
                             observation_space=self.env.observation_space, action_space=self.env.action_space,
                             env_spec=self.env.spec)


SESSION_FILE = "session.json"  # in a session folder: the run and agent it corrects
REPORT_FILE = "session_report.json"  # in a session folder: the report of its last `hirl correct` (see check_unfinished)
MODEL_FILES = ("config.json", "weights.safetensors")  # what a complete model folder holds


def session_components(agent: str, cfg: RunConfig) -> tuple[str, str]:
    """(low level, high level) component names of the corrected agent (its recipe's; InputError when it cannot be
    corrected)."""
    low, high = correctable_levels(agent, cfg.networks)
    return low.name, high.name


def check_run(run_dir: str | Path, agent: str = DEFAULT_AGENT) -> RunConfig:
    """The run's config, after checking (read-only) that its agent `agent` can be corrected; InputError (one line)
    naming what is missing."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.yaml"
    if not cfg_path.is_file():
        raise InputError(f"{run_dir}: not a run directory (no config.yaml); train one with hirl train")
    cfg = load_config(RunConfig, cfg_path)
    if agent not in cfg.agents:
        raise InputError(f"{run_dir}: agent {agent!r} is not one of the run's agents ({', '.join(cfg.agents)})")
    try:
        components = session_components(agent, cfg)
    except InputError as exc:
        raise InputError(f"{run_dir}: {str(exc).removeprefix('corrections: ')} (the run's agents: "
                         f"{', '.join(cfg.agents)})") from None
    for c in components:
        src = RunDir(run_dir).model_dir(c)
        if not _complete(src):
            raise InputError(f"{src}: missing or incomplete; the run has no trained {c} (hirl train first)")
    return cfg


def _complete(model_dir: Path) -> bool:
    return all((model_dir / f).is_file() for f in MODEL_FILES)


def _copy_whole(src: Path, dst: Path) -> None:
    """Copy the folder src to dst (absent or incomplete) through a temporary sibling renamed into place."""
    tmp = dst.parent / f".{dst.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src, tmp)
    if dst.exists():  # an incomplete copy left by an older version: replaced
        shutil.rmtree(dst)
    os.replace(tmp, dst)


def _clean_temporaries(out: Path, components: tuple[str, ...]) -> None:
    for parent in {RunDir(out).model_dir(c, adapted).parent for c in components for adapted in (False, True)}:
        for tmp in parent.glob(".*.tmp-*") if parent.is_dir() else ():
            shutil.rmtree(tmp, ignore_errors=True)


def session_agent(out: str | Path) -> str | None:
    """The agent the session in `out` corrects (session.json; written before agents could be chosen: the default
    agent), None when out holds no readable session.json."""
    try:
        ident = json.loads((Path(out) / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(ident.get("agent", DEFAULT_AGENT)) if isinstance(ident, dict) else None


def prepare_session(run_dir: str | Path, out: str | Path, cfg: RunConfig | None = None,
                    agent: str = DEFAULT_AGENT) -> RunConfig:
    """Lay out `out` as described above for the run's agent `agent` (idempotent: an existing session keeps its
    fine-tuned levels). The caller holds out's FolderLock. InputError when out is a session of another run or of
    another agent."""
    run_dir, out = Path(run_dir), Path(out)
    cfg = check_run(run_dir, agent) if cfg is None else cfg
    components = session_components(agent, cfg)
    ident = out / SESSION_FILE
    if ident.is_file():
        try:
            owner = json.loads(ident.read_text(encoding="utf-8")).get("run_dir")
        except (OSError, ValueError, AttributeError):
            owner = None
        if owner is not None and Path(owner) != run_dir.resolve():
            raise InputError(f"--out {out}: a session of the run {owner}, not of {run_dir.resolve()}; use another --out")
        corrected = session_agent(out)
        if corrected is not None and corrected != agent:
            raise InputError(f"--out {out}: a session of the agent {corrected}, not {agent}; reopen it with "
                             f"--agent {corrected}, or use another --out")
    elif (out / "config.yaml").is_file() and load_config(RunConfig, out / "config.yaml") != cfg:
        raise InputError(f"--out {out}: holds another run's config.yaml (a run or another run's session); "
                         "use another --out")
    _clean_temporaries(out, components)
    for c in components:
        src = RunDir(run_dir).model_dir(c)
        for adapted in (False, True):
            dst = RunDir(out).model_dir(c, adapted)
            if not _complete(dst):
                _copy_whole(src, dst)
    save_config(cfg, out / "config.yaml")
    if not ident.is_file():
        atomic_write_json(ident, {"run_dir": str(run_dir.resolve()), "agent": agent,
                                  "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "hirl_version": __version__})
    return cfg


def check_unfinished(out: str | Path) -> None:
    """InputError when the session in `out` was finished (its session_report.json says "finished": true), so that a
    finished session is not reopened by accident (`hirl correct --reopen` continues it on purpose). A session that
    was interrupted (Ctrl-C) or killed is not finished: it continues."""
    path = Path(out) / REPORT_FILE
    if not path.is_file():
        return
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a session report ({exc}); move it away or pass --reopen") from None
    if isinstance(report, dict) and report.get("finished"):
        when = report.get("finished_at", "earlier")
        raise InputError(f"--out {out}: this session was finished ({path.name}, {when}); pass --reopen to add "
                         "episodes to it, or choose another --out")
