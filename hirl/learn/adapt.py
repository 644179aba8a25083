"""The adapt stage of `hirl train` (config `adapt.enabled`): DAgger against the scripted expert, so the two
levels stop drifting apart after being trained separately.

Each round rolls out the current hierarchical agent (learned high level + learned low level) on fresh chains.
The learner acts; at every step the scripted expert labels the state it actually reached:

    high-level label  what the expert's high level would emit now (e.g. env's current subtask),
                      with the learner's own previous subgoal as the high level's memory -> pi_HL is trained
                      on states reached by the actual low level;
    low-level label   the expert's action for the subgoal the LEARNED high level actually emitted
                      -> pi_LL is fine-tuned on the subgoals it will really receive.

The labelled steps are aggregated over rounds and appended to the demonstrations; both networks are
fine-tuned from their current weights and saved to RUN/models/adapted/ (the separately trained networks in
RUN/models/ stay, so `hirl eval` compares "hier_language" with "hier_language+adapt" on the same chains).
Only the hierarchy whose subgoal kind is the expert's own is adapted (Tabletop: language, Maze: state): the
expert cannot label a goal image, nor a Tabletop goal state.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from typing import Any
from collections.abc import Mapping

import numpy as np
from tqdm import tqdm

from hirl.data.tables import NO_INDEX, StepTables, TextTables, concat_tables, tables_from_rows, text_tables
from hirl.encoders.text import TextEncoder
from hirl.hierarchy.metrics import chain_metrics
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.rollout import AgentWrapper, run_episode
from hirl.integrations import adapter as env_adapter
from hirl.learn.components import ImitationComponent, imitation_component
from hirl.learn.imitation import train_component
from hirl.learn.run_config import RunConfig
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.policies.obs import DEFAULT_OBS_KEYS, obs_vector
from hirl.runs import ADAPTED_SUFFIX, RunDir, load_agent
from hirl.runs.agents import recipe
from hirl.types import Command, Observation, Subgoal

ROLLOUT_SEED = 50_000  # base seed of adapt rollouts: disjoint from collection (0...) and evaluation (100_000...)


@dataclass
class LabelledStep:
    """One learner step and the expert's labels for it."""

    obs: np.ndarray  # (S,) state vector
    command: str
    emitted: Subgoal  # the subgoal the learned high level had active
    previous: Subgoal | None  # the one active at the previous step (the high level's memory)
    expert_goal: Subgoal  # what the expert's high level emits in this state
    expert_action: np.ndarray  # (A,) the expert's action for `emitted`
    achieved: np.ndarray | None = None  # (G,) the achieved goal at obs (state rows of residual models), None: unknown


class ExpertLabeller(AgentWrapper):
    """Agent wrapper: the learner's action is executed; every step is recorded with the expert's labels."""

    inner: HierarchicalAgent

    def __init__(self, agent: HierarchicalAgent, expert_high: HighLevelPolicy, expert_low: LowLevelPolicy,
                 obs_keys: tuple[str, ...] = DEFAULT_OBS_KEYS) -> None:
        super().__init__(agent)
        self.expert_high, self.expert_low, self.obs_keys = expert_high, expert_low, obs_keys
        self.steps: list[LabelledStep] = []
        self._previous: Subgoal | None = None

    def reset(self, command: Command | None = None) -> None:
        self.inner.reset(command)
        self.expert_high.reset()
        self.expert_low.reset()
        self._previous = None

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        action = self.inner.act(obs, info)
        emitted, command = self.inner.subgoal, self.inner.command
        assert emitted is not None and command is not None
        self.steps.append(LabelledStep(
            obs=obs_vector(obs, self.obs_keys), command=command.text, emitted=emitted, previous=self._previous,
            expert_goal=self.expert_high.propose(obs, command),
            expert_action=np.asarray(self.expert_low.act(obs, emitted), np.float32)))
        self._previous = emitted
        return action


def labelled_tables(steps: list[LabelledStep], vocab: list[str], goal_dim: int, kind: str) -> tuple[StepTables, StepTables]:
    """(low-level rows, high-level rows) over `vocab` from labelled steps.

    low:  obs, action = expert action, label / goal_state = the emitted subgoal (both: achieved goals when every
          step carries one)
    high: obs, command, prev_label / prev_goal_state = the learner's previous subgoal, label / goal_state = the
          expert's subgoal; language rows whose expert instruction is outside vocab are dropped (the closed-set
          high level cannot emit it)."""
    index = {t: i for i, t in enumerate(vocab)}
    commands = sorted({s.command for s in steps})
    c_index = {c: i for i, c in enumerate(commands)}
    zero = np.zeros(goal_dim, np.float32)

    def label(g: Subgoal | None) -> int:
        return index.get(str(g.value), NO_INDEX) if g is not None and kind == "language" else NO_INDEX

    def state(g: Subgoal | None) -> np.ndarray:
        return np.asarray(g.value, np.float32).ravel() if g is not None and kind == "state" else zero

    def table(rows: list[LabelledStep], target: str) -> StepTables:
        n = len(rows)
        achieved = (np.stack([np.asarray(s.achieved, np.float32).ravel() for s in rows])
                    if n and all(s.achieved is not None for s in rows) else None)
        goal_of = (lambda s: s.emitted) if target == "emitted" else (lambda s: s.expert_goal)
        return tables_from_rows(
            obs=np.stack([s.obs for s in rows]).astype(np.float32) if n else np.zeros((0, 0), np.float32),
            action=np.stack([s.expert_action for s in rows]) if n else np.zeros((0, 0), np.float32),
            label=np.array([label(goal_of(s)) for s in rows], np.int64),
            prev_label=np.array([label(s.previous) for s in rows], np.int64),
            command=np.array([c_index[s.command] for s in rows], np.int64),
            goal_state=np.stack([state(goal_of(s)) for s in rows]) if n else np.zeros((0, goal_dim), np.float32),
            prev_goal_state=np.stack([state(s.previous) for s in rows]) if n else np.zeros((0, goal_dim), np.float32),
            vocab=vocab, commands=commands, achieved=achieved,
        )

    high_rows = [s for s in steps if kind != "language" or str(s.expert_goal.value) in index]
    return table(steps, "emitted"), table(high_rows, "expert")


def levels(agent: str) -> tuple[ImitationComponent, ImitationComponent] | None:
    """(low level, high level) imitation components of a two-level learned agent, else None."""
    parts = [imitation_component(c) for c in recipe(agent).components]
    roles = {c.role: c for c in parts}
    return (roles["low"], roles["high"]) if len(parts) == 2 and set(roles) == {"low", "high"} else None


def adaptable_agents(cfg: RunConfig) -> list[str]:
    """The agents of cfg the adapt stage fine-tunes: the two-level hierarchies whose high level emits the subgoal
    kind of the scripted expert's high level (the expert can label those; Tabletop: language, Maze: state)."""
    kind = env_adapter(cfg.env).subgoal_kind
    return [a for a in cfg.agents if (pair := levels(a)) is not None and pair[1].subgoal == kind]


def _copy_separate(run: RunDir, components: tuple[str, ...]) -> None:
    """Seed RUN/models/adapted/ with the separately trained networks (round 1 fine-tunes from them)."""
    for c in components:
        dst = run.model_dir(c, adapted=True)
        if not dst.exists():
            shutil.copytree(run.model_dir(c), dst)


def adapt_run(cfg: RunConfig, run: RunDir, train: tuple[StepTables, TextTables],
              val: tuple[StepTables, TextTables] | None, encoder: TextEncoder, progress: bool = True) -> dict[str, Any]:
    """DAgger rounds for every adaptable hierarchical agent of cfg.agents; returns a per-round summary."""
    spec = cfg.adapt
    adapter = env_adapter(cfg.env)
    summary: dict[str, Any] = {}
    paraphrases = cfg.training_phrasings(adapter.paraphrase_split)
    for name in adaptable_agents(cfg):
        low_level, high_level = levels(name) or (None, None)
        assert low_level is not None and high_level is not None
        kind = high_level.subgoal
        components = (low_level.name, high_level.name)
        _copy_separate(run, components)
        env = adapter.make(**cfg.env_kwargs)
        expert_high, expert_low = adapter.expert(env, 0.0, cfg.seed)
        low_rows: StepTables | None = None
        high_rows: StepTables | None = None
        rounds = []
        for r in range(1, spec.rounds + 1):
            agent = load_agent(run, name + ADAPTED_SUFFIX, env, cfg=cfg, text_encoder=encoder, seed=cfg.seed)
            assert isinstance(agent, HierarchicalAgent)
            labeller = ExpertLabeller(agent, expert_high, expert_low, tuple(cfg.obs_keys))
            results = []
            for i in tqdm(range(spec.episodes), desc=f"adapt {name} round {r}: rollouts", unit="chain",
                          disable=not progress, leave=False):
                seed = ROLLOUT_SEED + 1000 * r + i
                results.append(run_episode(env, labeller, adapter.command, seed=seed,
                                           options=adapter.reset_options(cfg.eval.chain_length)))
            low_new, high_new = labelled_tables(labeller.steps, train[0].vocab, train[0].goal_state.shape[1], kind)
            low_rows = low_new if low_rows is None else concat_tables(low_rows, low_new)
            high_rows = high_new if high_rows is None else concat_tables(high_rows, high_new)
            disagree = (float(np.mean([str(s.emitted.value) != str(s.expert_goal.value) for s in labeller.steps]))
                        if kind == "language" else None)
            record: dict[str, Any] = {
                "round": r, "rollout_avg_chain_length": chain_metrics(results)["avg_chain_length"],
                "labelled_steps": len(labeller.steps), "aggregated_low_rows": len(low_rows.obs),
                "aggregated_high_rows": len(high_rows.obs), "high_level_disagreement": disagree,
                "components": {},
            }
            for component, rows in ((low_level, low_rows), (high_level, high_rows)):
                if not len(rows.obs):
                    continue
                name_ = component.name
                merged = concat_tables(train[0], rows)
                budget = replace(component.budget(cfg.train), max_steps=spec.steps, lr=spec.lr,
                                 lr_schedule="constant", lr_warmup_steps=0, early_stopping_patience=None)
                net = component.load(run.model_dir(name_, adapted=True))
                net.train()
                tables = text_tables(merged, encoder, MAX_SUBTASKS, paraphrases if component.paraphrases else None)
                record["components"][name_] = train_component(
                    component, net, (merged, tables), val, budget, run, stage=f"adapt{r}",
                    paraphrase_p=cfg.paraphrase_augment)
            rounds.append(record)
            print(f"adapt {name} round {r}: rollout avg chain length {record['rollout_avg_chain_length']:.2f}, "
                  f"high-level disagreement {disagree}, {record['labelled_steps']} labelled steps")
        env.close()
        summary[name] = rounds
    return summary
