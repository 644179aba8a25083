"""Goal-conditioned offline components (OGBench-style data: goals are future states) and their agents, registered
in COMPONENTS / AGENTS and trained by the imitation run kind with the one Trainer (budget: train.baseline).

    component / agent        what                                                  OGBench setting
    gcbc                     flat goal-conditioned BC (hirl's ReLU MLP; actor: ogbench for OGBench's)  GCBC
    gc_hier_state[_k10]      state-subgoal hierarchy (high: state k ahead, BC)     k = 25 (mazes) / 10 (manipulation)
    gc_hier_language         language-subgoal hierarchy on the oracle's labels     (labels: information OGBench lacks)
    hiql[_k10|_giant]        HIQL (offline_gc.hiql)                                k 25 / 10, alphas 3; giant: discount 0.995
    gcivl[_giant|_play|_noisy]   GCIVL (offline_gc.gcivl)                          hyperparameters.sh per dataset
    gciql, qrl, crl [same]   GCIQL / QRL / CRL (offline_gc.gciql, .qrl, .crl)      (offline_gc.hyperparameters)
    <any of these>_cpu       the same with 256-wide MLPs instead of OGBench's 512 (a CPU budget: ~4x fewer FLOPs)

The four flat value-based methods without a suffix carry OGBench's point-maze navigate settings (pointmaze-medium /
large / teleport), _giant pointmaze-giant's, _play and _noisy the manipulation datasets'. A component's network
config is its class defaults (OGBench's get_config()), then its width and k, then its `overrides`; its GoalSampler
draws goals as that config says (hirl.policies.offline_gc.goal_sampling.sampling_of). A run config's
`networks: {<component>: {field: value}}` sets further fields (e.g. normalize: false, OGBench's raw inputs; GCBC's
actor: ogbench).

The hierarchical agents are HierarchicalAgents under the run's replan rule (OGBench re-plans every step:
replan: {on_completion: false, interval: 1}); every agent reads the goal from obs["desired_goal"] (the evaluation
task's goal observation) and its state from the model's obs_keys (hirl.learn.offline_gc.sampling)."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from hirl.config import FieldError
from hirl.data.tables import StepTables, TextTables
from hirl.hierarchy import HierarchicalAgent
from hirl.learn.components import ImitationComponent
from hirl.policies.offline_gc.crl import CRL
from hirl.learn.offline_gc.sampling import GoalSampler, check_state_tables
from hirl.policies.offline_gc.goal_sampling import SAMPLING_FIELDS, GoalSampling
from hirl.policies.offline_gc.hyperparameters import GIANT_DISCOUNT, OGBENCH_HYPERPARAMETERS, PRESET_SUFFIX
from hirl.policies.offline_gc.gcbc import GCBC, HIDDEN, GCHierLanguage, GCHierLanguageConfig, GCHierState, StateGoalModule
from hirl.policies.offline_gc.gciql import GCIQL
from hirl.policies.offline_gc.gcivl import GCIVL
from hirl.policies.offline_gc.hiql import HIQL
from hirl.policies.offline_gc.qrl import QRL
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy
from hirl.policies.heads import HeadConfig
from hirl.policies.inference import SubgoalCache, fast_inference, to_tensor
from hirl.policies.module import PolicyModule
from hirl.policies.obs import obs_vector
from hirl.runs.agents import AGENTS, AgentContext
from hirl.runs.components import COMPONENTS
from hirl.runs.recipes import SingleComponent
from hirl.types import Command, Observation, Subgoal

GOAL_KEY = "desired_goal"  # the observation entry holding the episode's goal state


def _goal(obs: Observation) -> np.ndarray:
    if not isinstance(obs, Mapping) or GOAL_KEY not in obs:
        raise KeyError(f"goal-conditioned agents read the goal from obs[{GOAL_KEY!r}]; this env's observation has none")
    return np.asarray(obs[GOAL_KEY], np.float32).ravel()


class GCAgent:
    """A whole agent around a flat goal-conditioned model (GCBC, GCIVL, GCIQL, QRL, CRL: model(s, g) is the actor's
    mean action): act(obs) = clip(model(s, g), -1, 1), OGBench's evaluation at temperature 0; no subgoals."""

    def __init__(self, model: StateGoalModule) -> None:
        self.model = model
        self.step_count = self.num_queries = self.num_replans = 0
        self.subgoal: Subgoal | None = None

    def reset(self, command: Command | None = None) -> None:
        self.step_count = 0

    def act(self, obs: Observation, info: Mapping[str, Any] | None = None) -> np.ndarray:
        with fast_inference():
            a = self.model(to_tensor(obs_vector(obs, self.model.config.obs_keys)), to_tensor(_goal(obs)))[0].numpy()
        self.step_count += 1
        return np.clip(a, -1.0, 1.0).astype(np.float32)


class VectorHigh(HighLevelPolicy):
    """The high level of GCHierState (subgoal = the state k steps ahead, (S,)) and of HIQL (subgoal = a point z (d,)
    of its learned representation): Subgoal("state", model.high(s, g)[0])."""

    def __init__(self, model: GCHierState | HIQL, label: str) -> None:
        self.model, self.label = model, label

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        with fast_inference():
            sub = self.model.high(to_tensor(obs_vector(obs, self.model.config.obs_keys)), to_tensor(_goal(obs)))[0]
        return Subgoal("state", sub.numpy().astype(np.float64), "policy", self.label)


class VectorLow(LowLevelPolicy):
    """The low level of GCHierState and HIQL: clip(model.low(s, subgoal vector), -1, 1)."""

    def __init__(self, model: GCHierState | HIQL) -> None:
        self.model = model

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        with fast_inference():
            a = self.model.low(to_tensor(obs_vector(obs, self.model.config.obs_keys)),
                               to_tensor(np.asarray(subgoal.value, np.float32)))[0].numpy()
        return np.clip(a, -1.0, 1.0).astype(np.float32)


class LanguageHigh(HighLevelPolicy):
    """GCHierLanguage's high level: the most likely label of the vocabulary for (s, g)."""

    def __init__(self, model: GCHierLanguage) -> None:
        self.model = model

    def propose(self, obs: Observation, command: Command) -> Subgoal:
        with fast_inference():
            logits = self.model.high(to_tensor(obs_vector(obs, self.model.config.obs_keys)), to_tensor(_goal(obs)))[0]
        return Subgoal("language", self.model.config.vocab[int(logits.argmax())], "policy")


class LanguageLow(LowLevelPolicy):
    """GCHierLanguage's low level on any instruction text (embedded by the run's text encoder, once per subgoal)."""

    def __init__(self, model: GCHierLanguage, text_encoder: Any) -> None:
        self.model, self.encoder, self.cache = model, text_encoder, SubgoalCache()

    def act(self, obs: Observation, subgoal: Subgoal) -> np.ndarray:
        emb = self.cache.get(subgoal, lambda g: to_tensor(self.encoder.encode_one(str(g.value))))
        with fast_inference():
            a = self.model.low(to_tensor(obs_vector(obs, self.model.config.obs_keys)), emb)[0].numpy()
        return np.clip(a, -1.0, 1.0).astype(np.float32)


class GCComponent(ImitationComponent):
    """A goal-conditioned network over GoalSampler batches; `subgoal_steps` is the sampler's (and model's) k,
    `overrides` config fields set over the network config's defaults (OGBench's per-dataset hyperparameters)."""

    role = "agent"
    budget_field = "baseline"  # one budget for every goal-conditioned method: same data, same gradient steps
    subgoal_steps = 25  # k: the sampler's and the hierarchies' subgoal horizon
    hidden: tuple[int, ...] = HIDDEN  # MLP widths of every network of the component
    overrides: dict[str, Any] = {}  # network config fields over its defaults (hirl.policies.offline_gc.hyperparameters)

    def config_values(self, **generic: Any) -> dict[str, Any]:
        """The keyword arguments of the network config: generic run settings (obs_keys, text_encoder, ...) and the
        component's width and k where the config has such a field, then the overrides."""
        names = {f.name for f in dataclasses.fields(self.network.config_cls)}
        base = {"hidden": self.hidden, "subgoal_steps": self.subgoal_steps, **generic}
        return {**{k: v for k, v in base.items() if k in names}, **self.overrides}

    def set_network_fields(self, fields: dict[str, Any]) -> None:
        """Fields of the network config (and its goal sampling) over this component's overrides; FieldError naming
        networks.<component>.<field> for a field the config lacks."""
        names = {f.name for f in dataclasses.fields(self.network.config_cls)} - {"obs_dim", "action_dim", "goal_dim"}
        for key in fields:
            if key not in names:
                raise FieldError(f"networks.{self.name}.{key}", f"not a field of {self.network.config_cls.__name__} "
                                 f"(fields: {', '.join(sorted(names))})")
        self.overrides = {**self.overrides, **fields}

    def sampling(self) -> GoalSampling:
        """How the sampler draws goals: the network config's sampling fields (discount, goal probabilities, k) at their
        defaults, then the component's k and overrides; GoalSampling's defaults for the fields the config lacks."""
        fields = {f.name: f.default for f in dataclasses.fields(self.network.config_cls) if f.name in SAMPLING_FIELDS}
        values = {**fields, **{k: v for k, v in self.config_values().items() if k in SAMPLING_FIELDS}}
        return GoalSampling(**values)

    def sampler(  # type: ignore[override]  # a GoalSampler has GatherSampler's interface (call, gather, size)
        self, t: StepTables, tt: TextTables, batch_size: int, paraphrase_p: float = 0.0, head: HeadConfig | None = None,
    ) -> GoalSampler:
        check_state_tables(t, self.name or type(self).__name__)
        return GoalSampler(t, batch_size, self.sampling(), keys=getattr(self.network, "batch_keys", None))

    def sizes(self, t: StepTables) -> tuple[int, int, int]:
        """(S, A, G) of the tables."""
        check_state_tables(t, self.name or type(self).__name__)
        return int(t.obs.shape[1]), int(t.action.shape[1]), int(t.achieved.shape[1])

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        """A fresh network (a StateGoalModule: GCBC, GCHierState, HIQL, GCIVL, GCIQL, QRL, CRL) sized from t, its
        normalisers fitted on it."""
        S, A, G = self.sizes(t)
        cfg = self.network.config_cls(S, A, G, **self.config_values(obs_keys=obs_keys, text_encoder=text_encoder))
        net: Any = self.network(cfg)
        return net.fit(t.obs, t.achieved)


class FlatGCComponent(GCComponent):
    """A flat goal-conditioned method: one network whose forward(s, g) is the mean action (a GCAgent)."""

    def policy(self, model: Any, ctx: AgentContext) -> GCAgent:
        return GCAgent(model)


class GCBCComponent(FlatGCComponent):
    network = GCBC


class HierStateComponent(GCComponent):
    network = GCHierState

    def policy(self, model: Any, ctx: AgentContext) -> HierarchicalAgent:
        return HierarchicalAgent(VectorHigh(model, f"state {model.config.subgoal_steps} steps ahead"), VectorLow(model),
                                 ctx.kind.replan_rule(ctx))


class HierLanguageComponent(GCComponent):
    network = GCHierLanguage

    def build(self, t: StepTables, tt: TextTables, text_encoder: str, obs_keys: tuple[str, ...],
              head: HeadConfig | None = None) -> PolicyModule:
        S, A, G = self.sizes(t)
        cfg = GCHierLanguageConfig(obs_dim=S, action_dim=A, goal_dim=G, text_dim=int(tt.vocab_emb.shape[1]),
                                   vocab=list(t.vocab), obs_keys=obs_keys, text_encoder=text_encoder,
                                   hidden=self.hidden, subgoal_steps=self.subgoal_steps)
        return GCHierLanguage(cfg).fit(t.obs, t.achieved, tt.vocab_emb)

    def policy(self, model: Any, ctx: AgentContext) -> HierarchicalAgent:
        return HierarchicalAgent(LanguageHigh(model), LanguageLow(model, ctx.encoder()), ctx.kind.replan_rule(ctx))


class HIQLComponent(GCComponent):
    network = HIQL

    def policy(self, model: Any, ctx: AgentContext) -> HierarchicalAgent:
        return HierarchicalAgent(VectorHigh(model, "HIQL latent subgoal"), VectorLow(model), ctx.kind.replan_rule(ctx))


class GCIVLComponent(FlatGCComponent):
    network = GCIVL


class GCIQLComponent(FlatGCComponent):
    network = GCIQL


class QRLComponent(FlatGCComponent):
    network = QRL


class CRLComponent(FlatGCComponent):
    network = CRL


CPU_HIDDEN = (256, 256, 256)  # the _cpu variants' MLP widths
# name -> (class, k, config overrides), before the _cpu variants
GC_COMPONENTS: dict[str, tuple[type[GCComponent], int, dict[str, Any]]] = {
    "gcbc": (GCBCComponent, 25, {}), "gc_hier_language": (HierLanguageComponent, 25, {}),
    "gc_hier_state": (HierStateComponent, 25, {}), "gc_hier_state_k10": (HierStateComponent, 10, {}),
    "hiql": (HIQLComponent, 25, {}), "hiql_k10": (HIQLComponent, 10, {}),
    "hiql_giant": (HIQLComponent, 25, {"discount": GIANT_DISCOUNT}),
}
FLAT_VALUE_METHODS: dict[str, type[GCComponent]] = {"gcivl": GCIVLComponent, "gciql": GCIQLComponent, "qrl": QRLComponent,
                                                    "crl": CRLComponent}  # OGBench's name -> component class
for _method, _cls in FLAT_VALUE_METHODS.items():
    for _preset, _suffix in PRESET_SUFFIX.items():
        GC_COMPONENTS[_method + _suffix] = (_cls, 25, OGBENCH_HYPERPARAMETERS[_method][_preset])
for _base, (_cls, _k, _overrides) in GC_COMPONENTS.items():
    for _name, _hidden in ((_base, HIDDEN), (_base + "_cpu", CPU_HIDDEN)):
        COMPONENTS.register(_name)(type(_cls.__name__, (_cls,), {"subgoal_steps": _k, "hidden": _hidden,
                                                                 "overrides": dict(_overrides)}))


class SingleGCComponent(SingleComponent):
    """An agent made of one goal-conditioned component (its policy() builds the whole agent)."""

    adaptable = False  # no DAgger stage for goal-conditioned components (the oracle has no goal-directed expert)


for _name in [n + v for n in GC_COMPONENTS for v in ("", "_cpu")]:
    AGENTS.register(_name)(lambda n=_name: SingleGCComponent(n))

