"""`hirl eval`: every agent of a run on the same CALVIN-style chains; report.json, plots, MP4s with overlays.
With an instruction map (hirl.eval.instruction_map), oracle_high is also run once per variant of the map."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from collections.abc import Callable, Sequence

from tqdm import tqdm

from hirl.errors import InputError
from hirl.eval.instruction_map import InstructionMap, instruction_map_section, read_instruction_map
from hirl.eval.latency import LatencyProbe
from hirl.eval.report import plot_chain_success, plot_subtask_success
from hirl.eval.video import write_mp4
from hirl.fileio import atomic_write_json
from hirl.hierarchy.metrics import chain_metrics
from hirl.hierarchy.rollout import Agent, EpisodeResult, run_episode
from hirl.integrations import adapter as env_adapter
from hirl.runs import AgentContext, RunDir, available_agents, load_agent, parse_agent_name, run_kind
from hirl.runs.agents import recipe
from hirl.runs.recipes import OracleHighPhrasing
from hirl.runs.rundir import as_run_dir
from hirl.tracking.frames import EpisodeFilm
from hirl.tracking.rollouts import CONTROL_HZ

MAPPED_AGENT = "oracle_high"  # the agent an instruction map rewords (the expert's high level: the low level alone)
MAX_REPLAYS = 3  # filmed replays of failed episodes per agent while none has failed on film (a stochastic agent may succeed)


def evaluate_agent(
    agent: Agent, env: Any, command_fn: Any, episodes: int, chain_length: int, seed: int, videos: int, frame_every: int,
    out: Path, name: str, options_fn: Any,
) -> tuple[dict[str, Any], list[EpisodeResult]]:
    """Run `episodes` chains (seed + i) and return (metrics, results). The first `videos` episodes are filmed and,
    when videos > 0, the first failed one too: an unfilmed episode that fails is replayed filmed with its seed (a
    deterministic agent fails the same way again; at most MAX_REPLAYS replays; the replay is not counted twice) ->
    out/videos/<name>_ep<NNN>_<success|failure>.mp4, named by what the film shows.
    metrics: chain_metrics (incl. "per_subtask" counts), "videos", and "latency": control-step and high-level-query
    latency (filmed episodes and replays excluded: rendering; the first step apart as warm-up)."""
    results, files = [], []
    probe = LatencyProbe(agent)
    fps = CONTROL_HZ / frame_every
    failure_filmed, replays = False, 0

    def episode(i: int, film: bool) -> EpisodeResult:
        """Episode i (seed + i), filmed into out/videos when film."""
        probe.timing = not film
        films = EpisodeFilm(fps) if film else None
        r = run_episode(env, probe, command_fn, seed=seed + i, options=options_fn(chain_length),
                        frame_every=frame_every if films else 0, frame_fn=films)
        if films is not None and r.frames:
            path = out / "videos" / f"{name}_ep{i:03d}_{'success' if r.success else 'failure'}.mp4"
            files.append(str(write_mp4(path, films.finish(r), fps=fps)))
            r.frames = []
        return r

    for i in tqdm(range(episodes), desc=f"eval {name}", unit="chain", leave=False):
        r = episode(i, film=i < videos)
        if not r.success and i < videos:
            failure_filmed = True
        elif not r.success and videos and not failure_filmed and replays < MAX_REPLAYS:
            replays += 1
            failure_filmed = not episode(i, film=True).success
        results.append(r)
    metrics = chain_metrics(results)
    metrics["videos"] = files
    metrics["latency"] = probe.summary()
    return metrics, results


def evaluate_run(run: str | Path | RunDir, agents: Sequence[str] | None = None, episodes: int | None = None,
                 out: Path | None = None, overrides: Sequence[str] = (), cfg: Any = None,
                 instruction_map: str | Path | None = None, ground_map: bool = False) -> dict[str, Any]:
    """Evaluate agents (default: the run kind's default agents) of a run, imitation or RL, on the same episodes
    (seeds eval seed + i); writes out/report.json, out/chain_success.png, out/subtask_success.png (when the env has
    subtask chains; report["plots"] lists the plots written) and out/videos/, and returns the report.

    cfg: a config of the run's kind to use instead of RUN/config.yaml (e.g. a replan-rule variant); overrides:
    dotted key=value changes of it. instruction_map: a TSV of phrasings (hirl.eval.instruction_map); oracle_high is
    evaluated (added to agents if missing) and again once per variant of the map, on the same chains, unfilmed;
    report["instruction_map"] holds the per-phrasing table."""
    run = as_run_dir(run).require()
    kind = run_kind(run.kind())
    cfg = cfg if cfg is not None else kind.load_config(run, overrides)
    out = out or run.eval_dir
    setup = kind.eval_setup(cfg)
    n = episodes or setup.episodes
    names = list(agents or kind.default_agents(cfg, run))
    recipes = {name: recipe(parse_agent_name(name)[0]) for name in names}  # unknown names fail before any rollout
    imap = None
    if instruction_map is not None:  # read and checked before any rollout too
        imap = load_instruction_map(instruction_map, run, kind, cfg)
        if MAPPED_AGENT not in names:
            names.append(MAPPED_AGENT)
            recipes[MAPPED_AGENT] = recipe(MAPPED_AGENT)
    encoder = kind.text_encoder(cfg)  # one encoder (MiniLM: ~1 s to load) shared by every agent
    report: dict[str, Any] = {"run_dir": str(run.path.resolve()), "env": cfg.env, "episodes": n,
                              "chain_length": setup.chain_length, "seed": setup.seed, "policies": {}}

    def evaluate(name: str, build: Callable[[Any], Agent], renders: bool, videos: int) -> dict[str, Any]:
        """Metrics of the agent build(env) builds on the n chains (env closed afterwards)."""
        env = kind.make_env(cfg, render=renders or videos > 0, size=setup.image_size if renders else setup.video_size)
        agent = build(env)
        t0 = time.perf_counter()
        metrics, results = evaluate_agent(agent, env, setup.command, n, setup.chain_length, setup.seed, videos,
                                          setup.frame_every, out, name, setup.options)
        metrics["wall_seconds"] = round(time.perf_counter() - t0, 1)
        metrics["episodes_detail"] = [r.summary() for r in results]
        env.close()
        return metrics

    for name in names:

        def load(env: Any, a: str = name) -> Agent:
            loaded: Agent = load_agent(run, a, env, cfg=cfg, text_encoder=encoder)
            return loaded

        metrics = evaluate(name, load, recipes[name].renders(), setup.videos)
        report["policies"][name] = metrics
        print(f"{name}: success_rate {metrics['success_rate']:.3f}  avg_chain_length {metrics['avg_chain_length']:.2f}")
    if imap is not None:
        passes: dict[bool, list[dict[str, Any]]] = {}
        for ground in (False, True) if ground_map else (False,):
            passes[ground] = []
            for j in range(imap.variants):
                phrased = OracleHighPhrasing(imap.variant(j), grounded=ground)

                def build(env: Any, r: OracleHighPhrasing = phrased) -> Agent:
                    return r.build(AgentContext(run, cfg, kind, env, seed=cfg.seed, text_encoder=encoder))

                metrics = evaluate(f"{MAPPED_AGENT}~{j}{'+grounded' if ground else ''}", build, False, 0)
                metrics.pop("videos")
                passes[ground].append(metrics)
                print(f"{MAPPED_AGENT}, instruction map variant {j}{', grounded' if ground else ''}: success_rate "
                      f"{metrics['success_rate']:.3f}  avg_chain_length {metrics['avg_chain_length']:.2f}")
        baseline = report["policies"][MAPPED_AGENT]["per_subtask"]
        report["instruction_map"] = instruction_map_section(imap, passes[False], baseline, MAPPED_AGENT)
        if ground_map:
            report["instruction_map_grounded"] = instruction_map_section(imap, passes[True], baseline, MAPPED_AGENT)
    plots = [plot_chain_success([report], out / "chain_success.png"),
             plot_subtask_success([report], out / "subtask_success.png")]
    report["plots"] = [str(p) for p in plots if p is not None]
    atomic_write_json(out / "report.json", report)
    return report


def load_instruction_map(path: str | Path, run: RunDir, kind: Any, cfg: Any) -> InstructionMap:
    """The instruction map at path, checked against the run's env vocabulary; InputError when the run cannot
    evaluate one (no language low level, an env without instructions)."""
    if not available_agents(run, [MAPPED_AGENT]):
        raise InputError(f"--instruction-map {path}: the map drives agent {MAPPED_AGENT}, which needs the run's language "
                         f"low level ({run.path}/models/low_language)")
    env = kind.make_env(cfg)
    try:
        canonicalize = env_adapter(cfg.env).detector_extra(env).get("canonicalize")
    finally:
        env.close()
    if canonicalize is None:
        raise InputError(f"--instruction-map {path}: {cfg.env} has no language instructions to rephrase")
    return read_instruction_map(path, canonicalize, cfg.env)


__all__ = ["MAPPED_AGENT", "evaluate_agent", "evaluate_run", "load_instruction_map"]
