"""Parallel, resumable demonstration collection: the scripted expert driven through the hierarchical runtime.

Episode i always uses seed `seed + i` (env reset, expert noise, detector noise), whichever worker runs it, so a
collection is deterministic for a seed and independent of the worker count. Each finished episode is written to
the journal (OUT/journal/) atomically by the worker that ran it; the dataset (OUT/data/) is assembled from the
journal in episode order at the end, or on Ctrl-C from the episodes finished so far. `resume=True` runs only the
episodes missing from the journal."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from hirl.data import schema
from hirl.data.assemble import write_dataset
from hirl.data.collect_config import CollectConfig
from hirl.data.journal import Journal
from hirl.data.recorder import EpisodeRecorder
from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent, build_replan_rule
from hirl.hierarchy.rollout import run_episode

# Keys of the collection config that must match for --resume to continue a journal / dataset.
_RESUME_KEYS = ("env", "seed", "image_every", "image_size", "noise", "chain_length", "env_kwargs", "replan")


# ------------------------------------------------------------------- one episode
class _EpisodeRunner:
    """Owns one env (made once) and runs episode i of a collection on it."""

    def __init__(self, cfg: CollectConfig) -> None:
        from hirl.integrations import adapter

        self.cfg = cfg
        self.adapter = adapter(cfg.env)
        self.env = self.adapter.make(render=cfg.image_every > 0, width=cfg.image_size, height=cfg.image_size, **cfg.env_kwargs)
        self.replan = cfg.resolved_replan(self.adapter.subgoal_kind)
        self.recorder = EpisodeRecorder(self.env, cfg.image_every)

    def run(self, index: int) -> dict[str, Any]:
        cfg = self.cfg
        seed = cfg.seed + index
        high, low = self.adapter.expert(self.env, cfg.noise, seed)
        rule = build_replan_rule(self.replan, self.adapter.detector_extra(self.env), seed=seed)
        agent = HierarchicalAgent(high, low, rule)
        options = self.adapter.reset_options(cfg.chain_length)
        result = run_episode(self.env, agent, self.adapter.command, seed=seed, options=options,
                             on_step=self.recorder.on_step, on_transition=self.recorder.on_transition)
        return self.recorder.finish(index=index, seed=seed, options=options, attrs=schema.episode_attrs(result))

    def close(self) -> None:
        self.env.close()


_RUNNER: _EpisodeRunner | None = None
_JOURNAL: Journal | None = None


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the collector was killed (e.g. kill -9): stop instead of running on as an orphan
            os._exit(1)


def _worker_init(cfg_dict: dict[str, Any], journal_dir: str) -> None:
    global _RUNNER, _JOURNAL
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops handing out episodes
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    _RUNNER = _EpisodeRunner(CollectConfig.from_dict(cfg_dict))
    _JOURNAL = Journal(journal_dir)


def _worker_episode(index: int) -> tuple[int, int, bool]:
    assert _RUNNER is not None and _JOURNAL is not None
    record = _RUNNER.run(index)
    _JOURNAL.write(record)
    return index, len(record["rewards"]), bool(record["attrs"]["success"])


# ------------------------------------------------------------------- collection
def _compatible(a: dict[str, Any], b: dict[str, Any], where: Path) -> None:
    diff = [k for k in _RESUME_KEYS if a.get(k) != b.get(k)]
    if diff:
        k = diff[0]
        raise InputError(f"--resume {where}: collection config differs in {', '.join(diff)} "
                         f"(stored {k}={b.get(k)!r}, requested {a.get(k)!r}); use the original settings or another --out")


def _existing_meta(out: Path) -> dict[str, Any] | None:
    from hirl.data.metadata import read_metadata

    if not (out / schema.DATA_DIR / schema.METADATA_FILE).exists():
        return None
    return read_metadata(out)


def collect(cfg: CollectConfig, out: str | Path, *, resume: bool = False, progress: bool = True,
            on_episode: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Collect cfg.episodes expert episodes into the dataset at `out`; returns a summary dict
    (episodes, steps, new_episodes, seconds, steps_per_s, success_rate, path).

    resume=False refuses an `out` that already holds a dataset or an unfinished collection; resume=True
    continues an unfinished one (or does nothing when the dataset is complete)."""
    from hirl.version import __version__
    from tqdm import tqdm

    out = Path(out)
    journal = Journal(out / schema.JOURNAL_DIR)
    wanted = cfg.to_dict()
    meta = _existing_meta(out) if (out / schema.DATA_DIR).exists() else None
    if not resume and (journal.exists() or meta is not None):
        raise InputError(f"{out} already holds a dataset or an unfinished collection; "
                         "pass --resume to continue it or choose another --out")
    if resume and journal.exists():
        _compatible(wanted, journal.read_config(), journal.config_path)
    elif resume and meta is not None:
        _compatible(wanted, meta.get("collection", {}), out)
        have = len(meta["episode_indices"])
        if have >= cfg.episodes:
            return {"episodes": have, "new_episodes": 0, "path": str(out), "note": "dataset already complete"}
        raise InputError(f"--resume {out}: the dataset is complete with {have} episodes and has no journal; "
                         f"extending a finished dataset is not supported (collect into another --out)")
    runner = _EpisodeRunner(cfg)  # the spaces, env spec and control rate come from this env (also used when workers=1)
    out.mkdir(parents=True, exist_ok=True)
    journal.root.mkdir(parents=True, exist_ok=True)
    journal.clean_temporaries()
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
        "subgoal_kind": runner.adapter.subgoal_kind,
        "collection": dict(wanted, policy="scripted_expert", replan=schema.to_json_safe(asdict(runner.replan))),
    }
    obs_space, act_space, env_spec = runner.env.observation_space, runner.env.action_space, runner.env.spec

    def save(records: Iterable[Mapping[str, Any]]) -> None:
        """Write records as the dataset at out, with the runner env's spaces and spec."""
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
        if workers <= 1:
            for i in todo:
                record = runner.run(i)
                journal.write(record)
                finished(i, len(record["rewards"]))
        else:
            _run_pool(cfg, workers, todo, journal, finished)
    except KeyboardInterrupt:
        bar.close()
        runner.close()
        indices = [i for i in journal.done() if i < cfg.episodes]
        if indices:  # leave a complete dataset of the episodes finished so far; the journal stays for --resume
            save(journal.read(i) for i in indices)
        raise
    bar.close()
    runner.close()
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
                               initargs=(cfg.to_dict(), str(journal.root)))
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
