"""The config of one RL stage (`hirl train` dispatches here when the YAML says `kind: rl`).

A hierarchical RL run is one run directory trained by several stage configs in turn:

    stage low    pretrain the goal-conditioned low level (SAC/TD3 + HER) on curriculum goals   -> RUN/models/rl_low
    stage high   train the high level on SubgoalEnv with the low level frozen                     -> RUN/models/rl_high
    stage adapt  fine-tune the low level on the subgoals the (frozen) high level emits            -> RUN/models/adapted/rl_low
    stage flat   the flat baseline: SAC/TD3 + HER on the task's own goal                          -> RUN/models/rl_flat
    stage language  language-conditioned low level on Tabletop with hindsight language relabeling -> RUN/models/rl_language
    stage plan   a planning high level over stage low's replay buffer and critic (SoRB), 0 env steps -> RUN/models/rl_plan
    (training state of each stage: RUN/train/<stage>/, hirl.runs.RunDir)

Every budget is in environment (control) steps, whatever the level that acts. The constructors check the fields
themselves; validate(cfg) checks the names looked up in registries (stage, high.relabel) and is called by the commands
(hirl.runs.kinds.RunKind.read_config) and by train_rl.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hirl.config import FieldError
from hirl.curriculum import GOAL_SCHEDULES
from hirl.devices import check_device_spec
from hirl.rl.relabel import RELABELERS
from hirl.rl.stage import STAGES
from hirl.tracking import TrackingConfig

ALGOS = ("sac", "td3")
HER_STRATEGIES = ("future", "final", "episode", "none")


@dataclass(frozen=True)
class AlgoSpec:
    """One SB3 off-policy learner (SAC or TD3) and its HER replay buffer."""

    algo: str = "sac"  # sac | td3
    net_arch: list[int] = field(default_factory=lambda: [64, 64])  # hidden sizes of actor and critics
    learning_rate: float = 1e-3  # Adam step size of actor and critics
    buffer_size: int = 200_000  # replay capacity in transitions
    batch_size: int = 256  # transitions per gradient step
    learning_starts: int = 1000  # transitions collected with random actions before learning starts
    train_freq: int = 4  # collect this many transitions between updates
    gradient_steps: int = 2  # gradient steps per update
    gamma: float = 0.95  # discount
    tau: float = 0.05  # target-network Polyak rate
    action_noise: float = 0.1  # TD3 only: std of Gaussian exploration noise (action units)
    her_strategy: str = "future"  # HER goal selection: future | final | episode | none (plain replay)
    her_k: int = 4  # HER: virtual goals per real transition
    device: str = "auto"  # auto | cpu | cuda | cuda:N (hirl.devices): where SB3 keeps the networks; auto = a GPU if any

    def __post_init__(self) -> None:
        try:
            check_device_spec(self.device)
        except ValueError as exc:
            raise FieldError("device", str(exc).removeprefix("device ")) from None
        if self.algo not in ALGOS:
            raise ValueError(f"algo must be one of {ALGOS}, got {self.algo!r}")
        if self.her_strategy not in HER_STRATEGIES:
            raise ValueError(f"her_strategy must be one of {HER_STRATEGIES}, got {self.her_strategy!r}")
        if not self.net_arch or any(n < 1 for n in self.net_arch):
            raise ValueError(f"net_arch must list positive layer sizes, got {self.net_arch}")
        if self.train_freq < 1 or self.gradient_steps < 1 or self.batch_size < 1 or self.her_k < 1:
            raise ValueError("train_freq, gradient_steps, batch_size and her_k must be >= 1")


@dataclass(frozen=True)
class LowSpec:
    """The low level's MDP (GoalConditionedEnv): goal radius, episode length, goal-distance curriculum."""

    epsilon: float = 0.3  # subgoal-reached distance (achieved-goal units, metres in the maze)
    episode_steps: int = 50  # control steps per low-level episode (stages low/adapt; adapt uses high.horizon)
    curriculum_start: float = 1.0  # max distance of sampled goals at the start of training
    curriculum_end: float = 3.0  # max distance of sampled goals once the curriculum is done
    curriculum_fraction: float = 0.5  # fraction of the stage's budget over which the radius grows to curriculum_end
    # how it grows: linear (continuously) | staged (curriculum_stages equal steps, nearest goals first)
    # | shuffled (the full radius from step 0)
    curriculum_schedule: str = "linear"
    curriculum_stages: int = 3  # staged: number of radius steps (start and end radius included)
    goal_jitter: float = 0.25  # uniform +- noise added to the env's goal points (achieved-goal units)

    def __post_init__(self) -> None:
        if self.epsilon <= 0 or self.episode_steps < 1:
            raise ValueError("low.epsilon must be > 0 and low.episode_steps >= 1")
        if not 0 < self.curriculum_start <= self.curriculum_end:
            raise ValueError("low: need 0 < curriculum_start <= curriculum_end")
        if not 0 <= self.curriculum_fraction <= 1:
            raise ValueError(f"low.curriculum_fraction must be in [0, 1], got {self.curriculum_fraction}")
        if self.curriculum_schedule not in GOAL_SCHEDULES:
            raise FieldError("curriculum_schedule",
                             f"must be one of {', '.join(GOAL_SCHEDULES)}, got {self.curriculum_schedule!r}")
        if self.curriculum_stages < 2:
            raise FieldError("curriculum_stages", f"must be >= 2, got {self.curriculum_stages}")


@dataclass(frozen=True)
class HighSpec:
    """The high level's SMDP (SubgoalEnv) and how its transitions are corrected before storage."""

    horizon: int = 20  # max control steps per high-level action (H)
    relative: bool = True  # subgoal = achieved + action * relative_scale (False: absolute, over the goal box)
    relative_scale: float = 1.5  # reach of a relative subgoal per dimension (achieved-goal units)
    relabel: str = "hac"  # a hirl.rl.relabel.RELABELERS name: hac (hindsight action) | hiro (goal correction) | none
    subgoal_test: float = 0.0  # HAC: probability that a transition is a subgoal test (0 turns it off)
    subgoal_penalty: float = -20.0  # HAC: reward of a tested subgoal the low level missed (typically -H)
    hiro_candidates: int = 8  # HIRO: Gaussian candidates around the state reached (plus original and reached)
    hiro_sigma: float = 0.5  # HIRO: std of those candidates (action units, before clipping to [-1, 1])

    def __post_init__(self) -> None:
        if self.horizon < 1 or self.relative_scale <= 0:
            raise ValueError("high.horizon must be >= 1 and high.relative_scale > 0")
        if not 0 <= self.subgoal_test <= 1:
            raise ValueError(f"high.subgoal_test must be in [0, 1], got {self.subgoal_test}")
        if self.hiro_candidates < 0 or self.hiro_sigma <= 0:
            raise ValueError("high.hiro_candidates must be >= 0 and high.hiro_sigma > 0")


@dataclass(frozen=True)
class PlanSpec:
    """Stage plan: search on the replay buffer (hirl.rl.planner) with the stage-low critic as distance."""

    nodes: int = 500  # waypoints: a farthest-point sample of the states in stage low's replay buffer
    max_edge_steps: float = 20.0  # longest edge (predicted control steps) the planner trusts the low level with
    eval_during_low: bool = False  # stage low: at every learning-curve point also evaluate the planner on the buffer so far

    def __post_init__(self) -> None:
        if self.nodes < 2 or self.max_edge_steps <= 0:
            raise ValueError("plan.nodes must be >= 2 and plan.max_edge_steps > 0")


@dataclass(frozen=True)
class LanguageSpec:
    """Stage language: a language-conditioned low level on Tabletop subtasks with hindsight language relabeling."""

    # the commanded instructions
    subtasks: list[str] = field(default_factory=lambda: ["push the button", "open the drawer", "close the drawer"])
    relabel: bool = True  # failed attempts are also stored with the instruction of what was achieved
    episode_steps: int = 150  # control steps per attempt
    text_encoder: str = "text"  # instruction encoder: text (MiniLM, 384-d) | hash (tests only)
    obs_keys: list[str] = field(default_factory=lambda: ["observation", "velocity"])  # task Dict entries the policy reads


@dataclass(frozen=True)
class RLEvalSpec:
    """Evaluation on the task (the env's own start/goal distribution), during training and by `hirl eval`."""

    every: int = 5000  # env steps between learning-curve points (0: only at the end)
    episodes: int = 20  # episodes per learning-curve point
    seed: int = 100_000  # base seed of evaluation episodes (disjoint from training seeds)
    final_episodes: int = 50  # episodes per agent for `hirl eval`
    mode: str = "task"  # task: the env's own episodes | goals: stage low's goal-reaching MDP at the curriculum's full radius

    def __post_init__(self) -> None:
        if self.mode not in ("task", "goals"):
            raise ValueError(f"eval.mode must be 'task' or 'goals', got {self.mode!r}")


@dataclass
class RLRunConfig:
    kind: str = "rl"  # marks an RL config for `hirl train` / `hirl eval` (imitation configs have no `kind`)
    imports: list[str] = field(default_factory=list)  # plugin modules imported first (they register envs, stages, rules)
    stage: str = "low"  # a hirl.rl.stage.STAGES name: low | high | adapt | flat | language | plan (module docstring)
    env: str = "hirl/Maze-v0"  # environment id (an EnvAdapter in hirl.integrations, or gr/... via the robotics extra)
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # extra gym.make arguments (e.g. layout, max_episode_steps)
    # goal components the RL levels reach (Tabletop [0, 1, 2]: gripper xyz); empty: all
    goal_indices: list[int] = field(default_factory=list)
    steps: int = 20_000  # env-step budget of this stage
    seed: int = 0  # seed of env sampling and network initialisation
    checkpoint_every: int = 5000  # env steps between resumable checkpoints (model + replay buffer + state)
    progress: bool = True  # tqdm progress bar over env steps
    algo: AlgoSpec = field(default_factory=AlgoSpec)  # learner of this stage's level
    low: LowSpec = field(default_factory=LowSpec)  # low-level MDP (stages low, adapt; also the subgoal radius)
    high: HighSpec = field(default_factory=HighSpec)  # high-level SMDP (stages high, adapt, and eval of hier agents)
    language: LanguageSpec = field(default_factory=LanguageSpec)  # stage language only
    plan: PlanSpec = field(default_factory=PlanSpec)  # stage plan (and the rl_plan agent)
    eval: RLEvalSpec = field(default_factory=RLEvalSpec)  # learning curve and `hirl eval`
    tracking: TrackingConfig = field(default_factory=TrackingConfig)  # W&B, videos at learning-curve points (hirl.tracking)

    def __post_init__(self) -> None:
        if self.kind != "rl":
            raise ValueError(f"kind must be 'rl' for an RL config, got {self.kind!r}")
        if self.steps < 1 or self.checkpoint_every < 1:
            raise ValueError("steps and checkpoint_every must be >= 1")


def validate(cfg: RLRunConfig) -> None:
    """FieldError naming the key of the first name in cfg that its registry does not know (imports no stage module)."""
    if cfg.stage not in STAGES:
        raise FieldError("stage", f"must be one of {', '.join(STAGES.names())}, got {cfg.stage!r}")
    if cfg.high.relabel not in RELABELERS:
        raise FieldError("high.relabel", f"must be one of {', '.join(RELABELERS.names())}, got {cfg.high.relabel!r}")
