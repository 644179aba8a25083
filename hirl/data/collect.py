"""Parallel, resumable demonstration collection: the scripted expert driven through the hierarchical runtime.

Episode i always uses seed `seed + i` (env reset, expert noise, detector noise), whichever worker runs it, so a
collection is deterministic for a seed and independent of the worker count. Each finished episode is written to
the journal (OUT/journal/) atomically by the worker that ran it; the dataset (OUT/data/) is assembled from the
journal in episode order at the end, or on Ctrl-C from the episodes finished so far. `resume=True` runs only the
episodes missing from the journal."""
from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from hirl.config import FieldError
from hirl.data import schema
from hirl.data.assemble import ASSEMBLE_PREFIX, write_dataset
from hirl.fileio import need_free_space
from hirl.data.collect_config import CollectConfig, default_replan
from hirl.data.episode_runner import EpisodeRunner
from hirl.data.journal import REMOVED_PREFIX, Journal
from hirl.errors import InputError
from hirl.runs.rundir import FolderLock
from hirl.plugins import import_plugins, imported_plugins

ASSEMBLE_SPACE_FACTOR = 3.0  # free space asked before assembling: journal bytes x this (Minari's HDF5 + its checksummed copy)

# Keys of the collection config that must match for --resume to continue a journal / dataset.
_RESUME_KEYS = ("env", "seed", "image_every", "image_size", "noise", "chain_length", "env_kwargs", "replan")


BACKENDS = ("local", "ray")  # where collection episodes run (collect(backend=...), `hirl collect --backend`)
_RUNNER: EpisodeRunner | None = None
_JOURNAL: Journal | None = None


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the collector was killed (e.g. kill -9): stop instead of running on as an orphan
            os._exit(1)


def _worker_init(cfg_dict: dict[str, Any], journal_dir: str, plugins: tuple[str, ...] = ()) -> None:
    global _RUNNER, _JOURNAL
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops handing out episodes
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    import_plugins(plugins, "plugins")  # the parent's plugin modules (a spawned worker starts without them)
    _RUNNER = EpisodeRunner(CollectConfig.from_dict(cfg_dict))
    _JOURNAL = Journal(journal_dir)


def _worker_episode(index: int) -> tuple[int, int, bool]:
    assert _RUNNER is not None and _JOURNAL is not None
    record = _RUNNER.run(index)
    _JOURNAL.write(record)
    return index, len(record["rewards"]), bool(record["attrs"]["success"])


# ------------------------------------------------------------------- collection
def _resume_view(d: Mapping[str, Any], subgoal_kind: str) -> dict[str, Any]:
    """The _RESUME_KEYS of a stored or requested collection config, replan resolved (None -> the expert's default),
    so a config and the metadata written from it compare equal."""
    view = {k: d.get(k) for k in _RESUME_KEYS}
    if view["replan"] is None:
        view["replan"] = asdict(default_replan(subgoal_kind))
    return schema.to_json_safe(view)


def _compatible(cfg: CollectConfig, stored: Mapping[str, Any], where: Path, subgoal_kind: str) -> None:
    a, b = _resume_view(cfg.to_dict(), subgoal_kind), _resume_view(stored, subgoal_kind)
    diff = [k for k in _RESUME_KEYS if a[k] != b[k]]
    if diff:
        k = diff[0]
        raise InputError(f"--resume {where}: collection config differs in {', '.join(diff)} "
                         f"(stored {k}={b[k]!r}, requested {a[k]!r}); use the original settings or another --out")


def _existing_meta(out: Path) -> dict[str, Any] | None:
    from hirl.data.metadata import read_metadata

    if not (out / schema.DATA_DIR / schema.METADATA_FILE).exists():
        return None
    return read_metadata(out)


def _clean_leftovers(out: Path, journal: Journal) -> None:
    """Remove what a killed collection leaves besides its journal: half-built datasets (.assemble-*), journals
    being removed (.journal-removed-*) and temp files (called with the folder locked: no other writer)."""
    for pattern in (ASSEMBLE_PREFIX + "*", REMOVED_PREFIX + "*"):
        for p in out.glob(pattern):
            shutil.rmtree(p, ignore_errors=True)
    if journal.root.is_dir():
        journal.clean_temporaries()


def _check_existing(cfg: CollectConfig, out: Path, journal: Journal, kind: str, resume: bool) -> dict[str, Any] | None:
    """What is already at out, against the request: InputError when it must not be continued (resume=False on an
    existing dataset or journal, other settings, a finished dataset of another size); the no-op summary when the
    dataset is already complete (the journal of a collection killed after its dataset was swapped in is removed);
    None when the collection goes on (fresh, or from the journal)."""
    meta = _existing_meta(out)
    complete = {"episodes": cfg.episodes, "new_episodes": 0, "path": str(out), "note": "dataset already complete"}
    if journal.root.is_dir() and not journal.exists():  # a journal whose removal was cut (hirl < 0.2) or never started
        if meta is None and journal.done():
            raise InputError(f"{journal.root}: journal without its collect.json; remove it to collect into {out}")
        journal.remove()
    if not resume and (journal.exists() or meta is not None):
        raise InputError(f"{out} already holds a dataset or an unfinished collection; "
                         "pass --resume to continue it or choose another --out")
    is_complete = meta is not None and list(meta["episode_indices"]) == list(range(cfg.episodes))
    if journal.exists():
        _compatible(cfg, journal.read_config(), journal.config_path, kind)
        if meta is not None and is_complete:
            _compatible(cfg, meta.get("collection", {}), out, kind)
            journal.remove()  # killed after the dataset was swapped in, before the journal was removed
            return complete
    elif meta is not None:
        _compatible(cfg, meta.get("collection", {}), out, kind)
        if is_complete:
            return complete
        have = len(meta["episode_indices"])
        raise InputError(f"--resume {out}: the dataset is complete with {have} episodes and has no journal; "
                         f"--episodes {cfg.episodes} would {'extend' if have < cfg.episodes else 'shrink'} it, which is "
                         "not supported (collect into another --out)")
    return None


def collect(cfg: CollectConfig, out: str | Path, *, resume: bool = False, progress: bool = True,
            on_episode: Callable[[int], None] | None = None, backend: str = "local",
            address: str | None = None) -> dict[str, Any]:
    """Collect cfg.episodes expert episodes into the dataset at `out`; returns a summary dict
    (episodes, steps, new_episodes, seconds, steps_per_s, success_rate, path; and note for a no-op).

    The env and its kwargs are checked (FieldError naming the field) before anything is written, and `out` is
    locked for the whole collection (a second writer gets InputError naming this one). resume=False refuses an
    `out` that already holds a dataset or an unfinished collection; resume=True continues an unfinished one
    (after a kill at any point) and is a no-op on a complete dataset of the same settings.

    backend "local": cfg.workers worker processes on this machine (1: this process); "ray": cfg.workers Ray tasks at
    a time on the Ray at `address` (hirl.data.ray_collect); the episodes and the dataset are the same."""
    if backend not in BACKENDS:
        raise FieldError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")
    out = Path(out)
    runner = EpisodeRunner(cfg)  # the spaces, env spec and control rate come from this env (also used when workers=1)
    try:
        with FolderLock(out, "collection"):
            return _collect(cfg, out, runner, resume, progress, on_episode, backend, address)
    finally:
        runner.close()


def _collect(cfg: CollectConfig, out: Path, runner: EpisodeRunner, resume: bool, progress: bool,
             on_episode: Callable[[int], None] | None, backend: str = "local", address: str | None = None) -> dict[str, Any]:
    from hirl.version import __version__
    from tqdm import tqdm

    journal = Journal(out / schema.JOURNAL_DIR)
    _clean_leftovers(out, journal)
    wanted = cfg.to_dict()
    kind = runner.adapter.subgoal_kind
    noop = _check_existing(cfg, out, journal, kind, resume)
    if noop is not None:
        return noop
    journal.root.mkdir(parents=True, exist_ok=True)
    journal.write_config(wanted)
    base = runner.env.unwrapped
    meta_out = {
        "hirl_version": __version__,
        "env_id": cfg.env,
        "env_kwargs": dict(cfg.env_kwargs),
        "control_rate_hz": round(1.0 / float(getattr(base, "dt", 1.0 / schema.CONTROL_RATE_HZ)), 6),
        "image_every": cfg.image_every,
        "image_size": cfg.image_size if cfg.image_every else 0,
        "image_rate_hz": round(schema.CONTROL_RATE_HZ / cfg.image_every, 6) if cfg.image_every else 0.0,
        "subgoal_kind": kind,
        "collection": dict(wanted, policy="scripted_expert", replan=schema.to_json_safe(asdict(runner.replan))),
    }
    obs_space, act_space, env_spec = runner.env.observation_space, runner.env.action_space, runner.env.spec

    def save(records: Iterable[Mapping[str, Any]]) -> None:
        """Write records as the dataset at out, with the runner env's spaces and spec; refused before writing when the
        disk cannot hold it (HDF5 failing mid-write on a full disk can take the process down)."""
        journal_bytes = sum(p.stat().st_size for p in journal.root.glob("episode_*.npz"))
        need_free_space(out, int(journal_bytes * ASSEMBLE_SPACE_FACTOR) + (1 << 20), "assembling the dataset")
        write_dataset(out, records, meta=meta_out, observation_space=obs_space, action_space=act_space, env_spec=env_spec)

    done = set(journal.done())
    todo = [i for i in range(cfg.episodes) if i not in done]
    steps = 0
    start = time.perf_counter()
    bar = tqdm(total=cfg.episodes, initial=cfg.episodes - len(todo), desc=f"collect {cfg.env}", unit="ep",
               disable=not progress)

    def finished(index: int, n_steps: int) -> None:
        nonlocal steps
        steps += n_steps
        bar.update(1)
        bar.set_postfix(steps_per_s=f"{steps / max(time.perf_counter() - start, 1e-9):.0f}")
        if on_episode is not None:
            on_episode(index)

    workers = min(cfg.workers, len(todo))
    try:
        if backend == "ray" and todo:
            from hirl.data.ray_collect import run_ray

            run_ray(cfg, workers, todo, journal, finished, address)
        elif workers <= 1:
            for i in todo:
                record = runner.run(i)
                journal.write(record)
                finished(i, len(record["rewards"]))
        else:
            _run_pool(cfg, workers, todo, journal, finished)
    except KeyboardInterrupt:
        bar.close()
        indices = [i for i in journal.done() if i < cfg.episodes]
        if indices:  # leave a complete dataset of the episodes finished so far; the journal stays for --resume
            save(journal.read(i) for i in indices)
        raise
    bar.close()
    seconds = time.perf_counter() - start
    indices = [i for i in journal.done() if i < cfg.episodes]
    missing = sorted(set(range(cfg.episodes)) - set(indices))
    if missing:
        raise RuntimeError(f"collection finished with episodes missing from the journal: {missing[:10]}")
    successes: list[bool] = []
    total_steps = 0

    def records() -> Any:
        nonlocal total_steps
        for i in indices:
            r = journal.read(i)
            successes.append(bool(r["attrs"].get("success", False)))
            total_steps += len(r["rewards"])
            yield r

    save(records())
    journal.remove()
    return {"episodes": len(indices), "steps": total_steps, "new_episodes": len(todo), "seconds": round(seconds, 3),
            "steps_per_s": round(steps / seconds, 1) if seconds > 0 else 0.0,
            "success_rate": round(sum(successes) / max(len(successes), 1), 4), "path": str(out)}


def _run_pool(cfg: CollectConfig, workers: int, todo: list[int], journal: Journal,
              finished: Callable[[int, int], None]) -> None:
    ctx = get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(cfg.to_dict(), str(journal.root), imported_plugins()))
    pending: set[Future] = set()
    queue = list(todo)
    try:
        # keep a couple of episodes per worker in flight, in index order, so an interruption leaves a near-prefix
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                pending.add(pool.submit(_worker_episode, queue.pop(0)))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                index, n_steps, _ = fut.result()
                finished(index, n_steps)
    except BaseException:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)  # running episodes finish and are journaled
        raise
    pool.shutdown(wait=True)
