"""The imitation components: one registered class per network, holding everything that differs between them.

    network      the PolicyModule class (saved as RUN/models/<name>/config.json + weights.safetensors)
    budget()     which TrainingBudgets entry trains it
    build()      a fresh network sized from the training tables, its input normalisers fitted (and, for the networks
                 that output actions -- low levels, flat, chain-of-thought --, the run's action head: `head:`)
    sampler()    its batch source over the tables (GatherSampler; chunks / histories as the network's head needs)
    policy()     its inference wrapper (hirl.runs.components.Component; runs the head with the run config's
                 inference settings, so `hirl eval RUN head.execution=ensemble` re-runs a trained chunk head)

Batch conventions are documented in hirl/policies/obs.py and hirl/learn/imitation_data.py.
"""
from __future__ import annotations

import abc
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from hirl.config import FieldError
from hirl.data.tables import NO_INDEX, StepTables, TextTables, achieved_now, goal_state_ahead, segment_index
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.learn.imitation_data import (CommandParaphraseSampler, GatherSampler, ParaphraseSampler, action_samples,
                                      command_labels, command_lookups, later_subtask_pairs, prev_subgoal_pairs)
from hirl.learn.run_config import RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.policies.flat import ChainOfThoughtAgent, ChainOfThoughtPolicy, CoTConfig, FlatAgent, FlatConfig, FlatPolicy
from hirl.policies.high.image import ImageGenConfig, ImageGoalGenerator, ImageHighLevel
from hirl.policies.high.image_state import FrameToState, FrameToStateConfig
from hirl.policies.high.language import LanguageGoalNet, LanguageHighLevel, LanguageHLConfig
from hirl.policies.heads import HeadConfig
from hirl.policies.high.goal_index import GoalIndex, GoalIndexConfig
from hirl.policies.high.state import StateGoalNet, StateHighLevel, StateHLConfig
from hirl.policies.low.bc import BCConfig, BCLowLevel, GoalConditionedBC
from hirl.policies.module import CONFIG_FILE, PolicyModule
from hirl.runs.agents import AgentContext
from hirl.runs.components import Component, component


class ImitationComponent(Component):
    """A network trained by behaviour cloning with the one Trainer (hirl.learn.imitation.train_component).

    budget_field     the TrainingBudgets entry (train.<field> in YAML) that trains it
    paraphrases      True when its sampler trains on paraphrases of the goal text (needs paraphrase tables)"""

    network: type[PolicyModule] = PolicyModule
    budget_field: str = "low"
    paraphrases: bool = False
    trained: bool = True  # False: build() fits it from the data and it is saved as built (no optimizer steps)

    def exists(self, directory: Path) -> bool:
        """config.json is written after the weights (PolicyModule.save): its presence marks a complete save."""
        return (directory / CONFIG_FILE).is_file()

    def load(self, directory: Path) -> PolicyModule:
        return self.network.load(directory)

    def check_env(self, model: Any, env: Any, directory: Path) -> None:
        model.check_observation_space(env.observation_space, directory)

    def budget(self, budgets: TrainingBudgets) -> TrainerConfig:
        return getattr(budgets, self.budget_field)

    def configure(self, cfg: RunConfig) -> None:
        """Read what the component needs from the run config before build() / sampler() (default: nothing)."""

    def set_network_fields(self, fields: dict[str, Any]) -> None:
        """Network config fields from the run config (`networks: {name: {...}}`) over the component's own; FieldError
        for a component whose network takes none (the goal-conditioned components take them)."""
        if fields:
            raise FieldError(f"networks.{self.name}", "this component's network takes no fields from the run config")

    @abc.abstractmethod
    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        """A fresh network sized from t (obs (N, S), action (N, A), goal_state (N, G)) and tt (vocab_emb (V, E));
        head: its action head (networks that output actions; None: the default single-step MLP)."""

    @abc.abstractmethod
    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        """The batch source of this network over the tables (paraphrase_p: see ParaphraseSampler; head: the
        network's action head, hirl.learn.imitation_data.action_samples; None: single-step)."""


MAX_INDEX_ROWS = 65_536  # dataset steps a GoalIndex keeps at most (an even subsample; a model size's upper bound)


def checked_fields(name: str, fields: dict[str, Any], config_cls: type, fixed: set[str]) -> dict[str, Any]:
    """The run config's `networks.<name>` fields, each checked to be a field of config_cls not in `fixed` (those
    taken from the data and the run); FieldError naming the first that is not."""
    allowed = {f.name for f in dataclasses.fields(config_cls)} - fixed
    for field_name in fields:
        if field_name not in allowed:
            raise FieldError(f"networks.{name}.{field_name}", f"not a field of this network ({', '.join(sorted(allowed))})")
    return dict(fields)


def head_of(net: PolicyModule) -> HeadConfig | None:
    """The action head a network was built with (None for networks without one: the high levels)."""
    head = getattr(net.config, "head", None)
    return head if isinstance(head, HeadConfig) else None


def run_head(ctx: AgentContext) -> HeadConfig | None:
    """The run config's `head:` section (its inference settings apply to the trained heads), None for other kinds."""
    head = getattr(ctx.cfg, "head", None)
    return head if isinstance(head, HeadConfig) else None


def dataset_frames(t: StepTables, name: str) -> np.ndarray:
    """t.frames (F, H, W, 3) uint8; ValueError when the dataset has no images."""
    if t.frames is None or not len(t.frame_row):
        raise ValueError(f"{name}: the dataset has no images; collect it with --image-every K")
    return t.frames


class LowLevelBC(ImitationComponent):
    """Goal-conditioned BC low level for one subgoal kind (GoalConditionedBC, BCLowLevel at inference). Network
    fields from the run config (`networks: {low_state: {goal_residual: true}}`): any BCConfig field but those taken
    from the data, the run and its `head:`."""

    role = "low"
    network = GoalConditionedBC

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}  # BCConfig fields from the run config

    def set_network_fields(self, fields: dict[str, Any]) -> None:
        self.fields = checked_fields(self.name, fields, BCConfig, {"goal_kind", "obs_dim", "action_dim", "goal_dim",
                                                                   "text_dim", "text_encoder", "obs_keys", "head"})

    def is_residual(self) -> bool:
        return bool(self.fields.get("goal_residual", False))

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        S, A, G, E = t.obs.shape[1], t.action.shape[1], t.goal_state.shape[1], tt.vocab_emb.shape[1]
        try:
            cfg = BCConfig(goal_kind=self.subgoal, obs_dim=S, action_dim=A, goal_dim=G, text_dim=E,
                           text_encoder=text_encoder, obs_keys=obs_keys, head=head or HeadConfig(), **self.fields)
        except (TypeError, ValueError) as exc:
            raise FieldError(f"networks.{self.name}", str(exc)) from None
        texts = (tt.vocab_emb if tt.paraphrase_emb is None or not len(tt.paraphrase_emb)
                 else np.concatenate([tt.vocab_emb, tt.paraphrase_emb]))
        return GoalConditionedBC(cfg).fit(t.obs, t.goal_state, texts, achieved_now(t) if cfg.goal_residual else None)

    def policy(self, model: Any, ctx: AgentContext) -> BCLowLevel:
        return BCLowLevel(model, ctx.encoder() if self.subgoal == "language" else None, head=run_head(ctx))


class LowLanguage(LowLevelBC):
    subgoal = "language"
    paraphrases = True

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        samples, lookups = action_samples(t, head)
        samples["goal"], lookups["goal_emb"] = t.label, (tt.vocab_emb, "goal")
        if paraphrase_p > 0:
            return ParaphraseSampler(samples, lookups, batch_size, tt, paraphrase_p, labels=t.label)
        return GatherSampler(samples, lookups, batch_size, labels=t.label)


class LowState(LowLevelBC):
    subgoal = "state"

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        samples, lookups = action_samples(t, head)
        samples["goal_state"] = t.goal_state
        if self.is_residual():
            samples["achieved"] = achieved_now(t)
        return GatherSampler(samples, lookups, batch_size, labels=t.label)


class Ahead:
    """Mixin of the `*_ahead` components: their tables' goal_state is the achieved goal cfg.subgoals.horizon steps
    ahead (hirl.data.tables.goal_state_ahead) instead of the segment's end."""

    horizon: int = 10  # set from the run config by configure()

    def configure(self, cfg: RunConfig) -> None:
        self.horizon = cfg.subgoals.horizon

    def ahead(self, t: StepTables) -> StepTables:
        return dataclasses.replace(t, goal_state=goal_state_ahead(t, self.horizon))


class LowStateAhead(Ahead, LowState):
    """low_state trained to reach the achieved goal k = subgoals.horizon steps ahead (HIQL's low level)."""

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        return super().build(self.ahead(t), tt, text_encoder, obs_keys, head)

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        return super().sampler(self.ahead(t), tt, batch_size, paraphrase_p, head)


class LowImage(LowLevelBC):
    subgoal = "image"
    budget_field = "low_image"
    renders = True

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        ok = t.end_frame != NO_INDEX
        frames = dataset_frames(t, "low_image")
        samples, lookups = action_samples(t, head, keep=ok)
        samples["end"], lookups["goal_image"] = t.end_frame[ok], (frames, "end")
        return GatherSampler(samples, lookups, batch_size, labels=t.label[ok])


class HighLanguage(ImitationComponent):
    """The language high level; network fields from the run config (`networks: {high_language: {memory_ahead: 0.2}}`):
    any LanguageHLConfig field but those taken from the data and the run."""

    role = "high"
    subgoal = "language"
    network = LanguageGoalNet
    budget_field = "high"

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}  # LanguageHLConfig fields from the run config

    def set_network_fields(self, fields: dict[str, Any]) -> None:
        self.fields = checked_fields(self.name, fields, LanguageHLConfig, {"obs_dim", "text_dim", "text_encoder",
                                                                           "obs_keys"})

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        try:
            cfg = LanguageHLConfig(obs_dim=t.obs.shape[1], text_dim=tt.vocab_emb.shape[1], text_encoder=text_encoder,
                                   obs_keys=obs_keys, **self.fields)
        except (TypeError, ValueError) as exc:
            raise FieldError(f"networks.{self.name}", str(exc)) from None
        return LanguageGoalNet(cfg, t.vocab, tt.vocab_emb).fit(t.obs, tt.vocab_emb)

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        pairs = prev_subgoal_pairs(t)
        share = float(self.fields.get("memory_ahead", 0.0))
        if share > 0:
            only = bool(self.fields.get("memory_ahead_effect", False))
            ahead = later_subtask_pairs(t, share, only_effect_holds=only)
            pairs = {k: np.concatenate([v, ahead[k]]) for k, v in pairs.items()}
        lookups = {**command_lookups(tt), "prev_emb": (tt.vocab_emb, "prev")}
        augment = float(self.fields.get("command_augment", 0.0))
        if augment > 0:  # RunConfig refuses it without paraphrase_augment (the training phrasings)
            return CommandParaphraseSampler(pairs, lookups, batch_size, tt, augment, command_labels(t, MAX_SUBTASKS))
        return GatherSampler(pairs, lookups, batch_size)

    def policy(self, model: Any, ctx: AgentContext) -> LanguageHighLevel:
        return LanguageHighLevel(model, ctx.encoder())


class HighState(ImitationComponent):
    """Goal-state regressor of the segment's end goal. Network fields from the run config (`networks: {high_state:
    {residual: true}}`): any StateHLConfig field but those taken from the data and the run."""

    role = "high"
    subgoal = "state"
    network = StateGoalNet
    budget_field = "high"
    residual = False  # the default of StateHLConfig.residual for this component
    progress = False  # the default of StateHLConfig.progress for this component

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}  # StateHLConfig fields from the run config

    def set_network_fields(self, fields: dict[str, Any]) -> None:
        self.fields = checked_fields(self.name, fields, StateHLConfig, {"obs_dim", "goal_dim", "text_dim", "obs_keys",
                                                                         "text_encoder"})

    def is_residual(self) -> bool:
        return bool(self.fields.get("residual", self.residual))

    def inputs(self, t: StepTables, rows: int = 2) -> dict[str, np.ndarray]:
        """The optional batch entries of its network (achieved goal now, subtasks done), `rows` families stacked."""
        out: dict[str, np.ndarray] = {}
        if self.is_residual():
            out["achieved"] = np.concatenate([achieved_now(t)] * rows)
        if self.fields.get("progress", self.progress):
            out["progress"] = np.concatenate([segment_index(t)] * rows)
        return out

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        fields = {"residual": self.residual, "progress": self.progress, **self.fields}
        try:
            cfg = StateHLConfig(obs_dim=t.obs.shape[1], goal_dim=t.goal_state.shape[1], text_dim=tt.vocab_emb.shape[1],
                                text_encoder=text_encoder, obs_keys=obs_keys, **fields)
        except (TypeError, ValueError) as exc:
            raise FieldError(f"networks.{self.name}", str(exc)) from None
        return StateGoalNet(cfg).fit(t.obs, t.goal_state, tt.vocab_emb, achieved_now(t) if cfg.residual else None)

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        s = {"obs": np.concatenate([t.obs, t.obs]), "command": np.concatenate([t.command, t.command]),
             "prev_state": np.concatenate([t.prev_goal_state, t.goal_state]),
             "target_state": np.concatenate([t.goal_state, t.goal_state]), **self.inputs(t)}
        return GatherSampler(s, command_lookups(tt), batch_size)

    def policy(self, model: Any, ctx: AgentContext) -> StateHighLevel:
        return StateHighLevel(model, ctx.encoder())


class HighStateAhead(Ahead, HighState):
    """high_state regressing the achieved goal k = subgoals.horizon steps ahead, as a residual from the achieved goal
    now (StateHLConfig.residual), reading the command's current subtask (StateHLConfig.progress). Its
    previous-subgoal input is, in training, the achieved goal now (what the previous query, k steps earlier, aimed
    at) or zeros (the first query)."""

    residual = True
    progress = True

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        return super().build(self.ahead(t), tt, text_encoder, obs_keys, head)

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        target, now = goal_state_ahead(t, self.horizon), achieved_now(t)
        s = {"obs": np.concatenate([t.obs, t.obs]), "command": np.concatenate([t.command, t.command]),
             "prev_state": np.concatenate([np.zeros_like(now), now]),
             "target_state": np.concatenate([target, target]), **self.inputs(t)}
        return GatherSampler(s, command_lookups(tt), batch_size)


class GoalIndexComponent(ImitationComponent):
    """The futures of dataset states (GoalIndex): candidate state subgoals the snapped high levels choose from;
    fitted from the training steps, not trained. goal_index: the segment's end goal; goal_index_ahead: the goal
    subgoals.horizon steps ahead."""

    role = "high"
    subgoal = "state"
    network = GoalIndex
    budget_field = "high"
    trained = False

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        rows = min(len(t.obs), MAX_INDEX_ROWS)
        cfg = GoalIndexConfig(obs_dim=t.obs.shape[1], goal_dim=t.goal_state.shape[1], rows=rows, obs_keys=obs_keys,
                              residual=True)
        return GoalIndex(cfg).fit(t.obs, self.goals(t), achieved_now(t))

    def goals(self, t: StepTables) -> np.ndarray:
        """(N, G) the goal each training step led to."""
        return t.goal_state

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        raise TypeError(f"{self.name} is fitted from the data, not trained: it has no sampler")

    def policy(self, model: Any, ctx: AgentContext) -> GoalIndex:
        return model


class GoalIndexAhead(Ahead, GoalIndexComponent):
    def goals(self, t: StepTables) -> np.ndarray:
        return goal_state_ahead(t, self.horizon)


class FrameState(ImitationComponent):
    """FrameToState: reads the achieved goal (G,) a camera frame shows; the reader between an image high level and a
    state low level (hier_image_state, oracle_image_state). Trained on the `low_image` budget: on every stored
    dataset frame and the achieved goal at its observation, or, with `networks: {frame_state: {residual: true}}`, on
    each step's segment-end frame read against the achieved goal at the step (what it is given at inference)."""

    role = "part"
    subgoal = "image"
    network = FrameToState
    budget_field = "low_image"
    renders = True

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}  # FrameToStateConfig fields from the run config

    def set_network_fields(self, fields: dict[str, Any]) -> None:
        self.fields = checked_fields(self.name, fields, FrameToStateConfig, {"goal_dim"})

    def samples(self, t: StepTables) -> dict[str, np.ndarray]:
        """row (into frames) and target_state (M, G), with achieved (M, G) for a residual reader."""
        frames = dataset_frames(t, "frame_state")
        if not self.fields.get("residual", False):
            return {"row": np.arange(len(frames)), "target_state": t.achieved[t.frame_obs_row]}
        ok = t.end_frame != NO_INDEX
        return {"row": t.end_frame[ok], "target_state": t.achieved[t.frame_obs_row[t.end_frame[ok]]],
                "achieved": achieved_now(t)[ok]}

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        try:
            cfg = FrameToStateConfig(goal_dim=t.goal_state.shape[1], **self.fields)
        except (TypeError, ValueError) as exc:
            raise FieldError(f"networks.{self.name}", str(exc)) from None
        s = self.samples(t)
        return FrameToState(cfg).fit(s["target_state"], s.get("achieved"))

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        return GatherSampler(self.samples(t), {"image": (dataset_frames(t, "frame_state"), "row")}, batch_size)

    def policy(self, model: Any, ctx: AgentContext) -> FrameToState:
        return model


class HighImage(ImitationComponent):
    role = "high"
    subgoal = "image"
    network = ImageGoalGenerator
    budget_field = "image"
    renders = True

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        return ImageGoalGenerator(ImageGenConfig(text_dim=tt.vocab_emb.shape[1], text_encoder=text_encoder)).fit(tt.vocab_emb)

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        frames = dataset_frames(t, "high_image")
        s = {"row": t.frame_row, "end": t.frame_end, "command": t.frame_command, "prev": t.frame_prev_label}
        return GatherSampler(s, {**command_lookups(tt), "image": (frames, "row"), "target_image": (frames, "end"),
                                 "prev_emb": (tt.vocab_emb, "prev")}, batch_size)

    def policy(self, model: Any, ctx: AgentContext) -> ImageHighLevel:
        env = ctx.env

        def render() -> np.ndarray:  # the current camera frame (H, W, 3) uint8
            frame = env.render()
            if not isinstance(frame, np.ndarray):
                raise ValueError(f"high_image needs rgb_array frames from env.render(), got {type(frame).__name__}")
            return frame

        return ImageHighLevel(model, render=render, text_encoder=ctx.encoder())


class Flat(ImitationComponent):
    role = "agent"
    network = FlatPolicy
    budget_field = "baseline"

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        cfg = FlatConfig(obs_dim=t.obs.shape[1], action_dim=t.action.shape[1], text_dim=tt.vocab_emb.shape[1],
                         text_encoder=text_encoder, obs_keys=obs_keys, head=head or HeadConfig())
        return FlatPolicy(cfg).fit(t.obs, tt.vocab_emb)

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        samples, lookups = action_samples(t, head)
        samples["command"] = t.command
        return GatherSampler(samples, {**lookups, **command_lookups(tt)}, batch_size)

    def policy(self, model: Any, ctx: AgentContext) -> FlatAgent:
        return FlatAgent(model, ctx.encoder(), head=run_head(ctx))


class ChainOfThought(ImitationComponent):
    role = "agent"
    network = ChainOfThoughtPolicy
    budget_field = "baseline"

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        cfg = CoTConfig(obs_dim=t.obs.shape[1], action_dim=t.action.shape[1], text_dim=tt.vocab_emb.shape[1],
                        text_encoder=text_encoder, obs_keys=obs_keys, head=head or HeadConfig())
        return ChainOfThoughtPolicy(cfg, t.vocab, tt.vocab_emb).fit(t.obs, tt.vocab_emb)

    def sampler(self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0,
                head: HeadConfig | None = None) -> GatherSampler:
        samples, lookups = action_samples(t, head)
        if "obs" in samples:  # single-step observations: prev_subgoal_pairs doubles t.obs itself
            del samples["obs"]
            families = prev_subgoal_pairs(t, samples)
        else:  # history: the doubled rows gather obs (B, k, S)
            families = {k: v for k, v in prev_subgoal_pairs(t, samples).items() if k != "obs"}
        return GatherSampler(families, {**lookups, **command_lookups(tt), "prev_emb": (tt.vocab_emb, "prev")}, batch_size)

    def policy(self, model: Any, ctx: AgentContext) -> ChainOfThoughtAgent:
        return ChainOfThoughtAgent(model, ctx.encoder(), head=run_head(ctx))


def imitation_component(name: str) -> ImitationComponent:
    """The registered imitation component `name` (ValueError for an unknown or non-imitation one)."""
    c = component(name)
    if not isinstance(c, ImitationComponent):
        raise ValueError(f"component {name!r} is not trained by imitation")
    return c
