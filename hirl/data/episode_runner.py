"""One collection episode: the env of a collection config, checked (env_adapter, make_env, check_env), and
EpisodeRunner, which owns one env and runs episode i on it (the scripted expert through HierarchicalAgent and
run_episode), for the local process pool (hirl.data.collect) and the Ray tasks (hirl.data.ray_collect) alike."""
from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from hirl.config import FieldError
from hirl.data import schema
from hirl.data.collect_config import CollectConfig
from hirl.data.recorder import EpisodeRecorder
from hirl.errors import InputError
from hirl.hierarchy import HierarchicalAgent, build_replan_rule
from hirl.hierarchy.rollout import run_episode

if TYPE_CHECKING:
    from hirl.integrations import EnvAdapter


# ------------------------------------------------------------------- the env, checked
def env_adapter(env_id: str) -> EnvAdapter:
    """The registered adapter of env_id; FieldError("env") naming the known ones otherwise."""
    from hirl.integrations import adapter

    try:
        return adapter(env_id)
    except InputError as exc:
        raise FieldError("env", str(exc)) from None



def unknown_env_kwargs(env_id: str, kwargs: Mapping[str, Any]) -> list[str]:
    """Keys of kwargs that neither gym.make nor env_id's constructor accepts (sorted); [] when the constructor takes
    **kwargs or env_id is not registered with gymnasium yet (then the constructor has the last word)."""
    try:
        params = list(inspect.signature(_env_creator(env_id)).parameters.values())
    except (gym.error.Error, ValueError, TypeError, ImportError, AttributeError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return []
    known = {p.name for p in params} | {p.name for p in inspect.signature(gym.make).parameters.values()
                                        if p.kind is not inspect.Parameter.VAR_KEYWORD} - {"id"}
    return sorted(str(k) for k in kwargs if k not in known)


def make_env(ad: EnvAdapter, env_kwargs: Mapping[str, Any], render: bool = False, size: int = 128) -> gym.Env:
    """ad.make(**env_kwargs) with the kwargs checked against the env constructor's signature first (keys of the
    adapter's own wrappers aside): an unknown key or a value the constructor rejects is FieldError("env_kwargs"), a bad
    value of a wrapper's key FieldError("env_kwargs.<its field>") (the caller names the file key or flag)."""
    for_env = {k: v for k, v in env_kwargs.items() if k not in ad.wrappers}
    unknown = unknown_env_kwargs(ad.env_id, for_env)
    if not unknown:
        try:
            return ad.make(render=render, width=size, height=size, **env_kwargs)
        except FieldError as exc:
            if exc.field.split(".")[0] not in ad.wrappers:
                raise
            raise FieldError(f"env_kwargs.{exc.field}", exc.problem) from None
        except (TypeError, ValueError) as exc:
            unknown = unknown_env_kwargs(ad.env_id, for_env)  # registered now (make imported the env package)
            if not unknown:
                why = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
                raise FieldError("env_kwargs", f"{ad.env_id} refused {schema.to_json_safe(dict(env_kwargs))}: {why}") from None
    takes = ", ".join([*_env_params(ad.env_id), *ad.wrappers])
    raise FieldError("env_kwargs", f"unknown key {unknown[0]!r} for {ad.env_id} (it takes: {takes})")


def _env_creator(env_id: str) -> Callable[..., Any]:
    """The constructor gym.make(env_id) calls (gymnasium.error.Error when env_id is not registered)."""
    entry = gym.spec(env_id).entry_point
    if entry is None:
        raise gym.error.Error(f"{env_id}: no entry point")
    return entry if callable(entry) else gym.envs.registration.load_env_creator(entry)


def _env_params(env_id: str) -> list[str]:
    creator = _env_creator(env_id)
    skip = {"self", "render_mode", "width", "height"}  # set by hirl from --image-every / --image-size
    return [p for p in inspect.signature(creator).parameters if p not in skip] + ["max_episode_steps"]


def check_env(env_id: str, env_kwargs: Mapping[str, Any]) -> None:
    """Make (and close) the env once, so an unknown env id or a bad env_kwargs is one FieldError before anything is
    written; the caller names the key (`env`, `env_kwargs`) in its own terms."""
    make_env(env_adapter(env_id), env_kwargs).close()


# ------------------------------------------------------------------- one episode
class EpisodeRunner:
    """Owns one env (made once) and runs episode i of a collection on it (local pool workers and Ray tasks alike)."""

    def __init__(self, cfg: CollectConfig) -> None:
        self.cfg = cfg
        self.adapter = env_adapter(cfg.env)
        self.env = make_env(self.adapter, cfg.env_kwargs, render=cfg.image_every > 0, size=cfg.image_size)
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
