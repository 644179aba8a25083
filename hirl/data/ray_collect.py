"""`hirl collect --backend ray [--address ADDR]`: the collection's episodes as Ray tasks (the optional `ray` extra).

Each task runs one episode on a Ray worker process (the worker keeps its env between tasks, like a local pool
worker) and returns the episode record; the driver writes every record through the same crash-safe Journal as the
local backend (atomic renames: a kill at any point leaves whole episodes, and `--resume` continues), so a cluster
needs no shared filesystem. At most `workers` tasks are in flight, each declaring one CPU. address None starts a
local Ray (or joins the one this process already started); "auto" joins the running cluster (`ray start --head`);
a host:port joins that cluster.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hirl.data.collect_config import CollectConfig
from hirl.data.episode_runner import EpisodeRunner
from hirl.data.journal import Journal
from hirl.errors import InputError
from hirl.plugins import import_plugins, imported_plugins

_CACHED: tuple[str, Any] | None = None  # (config JSON, EpisodeRunner) of this Ray worker process


def ray_module() -> Any:
    """The ray package; InputError naming the extra when it is not installed."""
    try:
        import ray
    except ImportError:
        raise InputError("--backend ray needs the ray extra: pip install -e '.[ray]'") from None
    return ray


def init_ray(address: str | None) -> bool:
    """Connect to Ray (see the module docstring); True when this call started it (the caller shuts it down)."""
    ray = ray_module()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except ConnectionError as exc:
        raise InputError(f"--address {address}: no Ray cluster reachable ({' '.join(str(exc).split())[:200]})") from None
    return True


def _episode(cfg_dict: dict[str, Any], plugins: tuple[str, ...], index: int) -> dict[str, Any]:
    """One episode on this worker (its env made once per collection config); the journal record."""
    global _CACHED
    import json

    key = json.dumps(cfg_dict, sort_keys=True)
    if _CACHED is None or _CACHED[0] != key:
        import_plugins(plugins, "plugins")
        if _CACHED is not None:
            _CACHED[1].close()
        _CACHED = (key, EpisodeRunner(CollectConfig.from_dict(cfg_dict)))
    return _CACHED[1].run(index)


def run_ray(cfg: CollectConfig, workers: int, todo: list[int], journal: Journal,
            finished: Callable[[int, int], None], address: str | None = None) -> None:
    """Run episodes `todo` as Ray tasks (<= workers in flight, in index order), journaling each finished record."""
    ray = ray_module()
    started = init_ray(address)
    task = ray.remote(num_cpus=1, max_retries=2)(_episode)
    cfg_dict, plugins = cfg.to_dict(), imported_plugins()
    queue: list[int] = list(todo)
    pending: dict[Any, int] = {}  # ObjectRef -> episode index
    try:
        while queue or pending:
            while queue and len(pending) < workers:
                index = queue.pop(0)
                pending[task.remote(cfg_dict, plugins, index)] = index
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                pending.pop(ref)
                record = ray.get(ref)
                journal.write(record)
                finished(int(record["index"]), len(record["rewards"]))
    except BaseException:
        for ref in pending:
            ray.cancel(ref)
        raise
    finally:
        if started:
            ray.shutdown()
