"""GCIVL, GCIQL, QRL and CRL with hirl's machinery: the EMA target updates through the one Trainer, QRL's multiplier
under the Trainer's one optimizer, the registered components (OGBench's per-dataset hyperparameters, goal sampling
as each config says), save / load through a run directory, actor-goal sampling and config errors. No ogbench needed."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hirl.learn.offline_gc.components import CPU_HIDDEN, GC_COMPONENTS, GCAgent
from hirl.learn.offline_gc.sampling import GoalSampler
from hirl.policies.offline_gc.goal_sampling import GoalSampling, sampling_of
from hirl.policies.offline_gc.hyperparameters import OGBENCH_HYPERPARAMETERS, PRESET_SUFFIX, preset_of
from hirl.policies.offline_gc.gciql import GCIQL, GCIQLConfig
from hirl.policies.offline_gc.gcivl import GCIVL, GCIVLConfig
from hirl.policies.offline_gc.qrl import QRL, QRLConfig
from hirl.learn.trainer import Trainer, TrainerConfig
from hirl.runs import AGENTS, RunDir
from hirl.runs.agents import component
from hirl.runs.components import COMPONENTS
from tests.ogbench.test_hiql import _tables

ONE_STEP = TrainerConfig(max_steps=1, batch_size=32, lr=1e-3, grad_clip=None, tensorboard=False, progress=False,
                         checkpoint_every=1)
METHODS = ("gcivl", "gciql", "qrl", "crl")


@pytest.mark.parametrize(("cls", "cfg", "online", "target"), [
    (GCIVL, GCIVLConfig(3, 2, 3, hidden=(16, 16)), "value", "target_value"),
    (GCIQL, GCIQLConfig(3, 2, 3, hidden=(16, 16)), "critic", "target_critic"),
])
def test_target_moves_by_tau_after_one_trainer_step(tmp_path: Path, cls: type, cfg: object, online: str,
                                                    target: str) -> None:
    torch.manual_seed(0)
    t = _tables()
    model = cls(cfg).fit(t.obs, t.achieved)
    tgt, onl = getattr(model, target), getattr(model, online)
    assert all(torch.equal(a, b) for a, b in zip(tgt.parameters(), onl.parameters(), strict=True))  # starts equal
    assert not any(p.requires_grad for p in tgt.parameters())  # never in the optimizer
    before = [p.detach().clone() for p in tgt.parameters()]
    Trainer(model, ONE_STEP, tmp_path / "run", GoalSampler(t, 32, GoalSampling())).fit()
    for old, new, p in zip(before, tgt.parameters(), onl.parameters(), strict=True):
        torch.testing.assert_close(new, 0.995 * old + 0.005 * p, rtol=1e-5, atol=1e-6)
    assert not all(torch.equal(o, n) for o, n in zip(before, tgt.parameters(), strict=True))


def test_qrl_multiplier_rises_while_the_constraint_is_violated(tmp_path: Path) -> None:
    """With eps 0 every positive d_pos_loss violates the constraint: Adam's first step raises log_lam by ~lr."""
    torch.manual_seed(0)
    t = _tables()
    model = QRL(QRLConfig(3, 2, 3, hidden=(16, 16), latent_dim=16, eps=0.0)).fit(t.obs, t.achieved)
    with torch.no_grad():  # phi far from the origin: one-step distances exceed 1, so the constraint term is positive
        model.value.phi[-1].bias.copy_(torch.linspace(-30, 30, 16))
        model.value.phi[-1].weight.mul_(50)
    batch = GoalSampler(t, 32, sampling_of(model.config))(0, np.random.default_rng(0))
    assert model.loss(batch)[1]["d_pos_loss"] > 0
    Trainer(model, ONE_STEP, tmp_path / "run", GoalSampler(t, 32, sampling_of(model.config))).fit()
    assert model.log_lam.item() == pytest.approx(1e-3, rel=1e-3)


def test_components_carry_ogbench_hyperparameters_and_sampling() -> None:
    t = _tables()
    for method in METHODS:
        for preset, suffix in PRESET_SUFFIX.items():
            for name in (method + suffix, method + suffix + "_cpu"):
                c = component(name)
                net = c.build(t, None, "hash", ("observation",))  # type: ignore[arg-type]
                for key, value in OGBENCH_HYPERPARAMETERS[method][preset].items():
                    assert getattr(net.config, key) == value, (name, key)
                assert net.config.hidden == (CPU_HIDDEN if name.endswith("_cpu") else (512, 512, 512))
                s = c.sampling()
                assert s.discount == net.config.discount and s.value_p_random == net.config.value_p_random
    # the value goals each method trains on (OGBench's get_config()): random pairs for QRL, future states for CRL
    assert component("qrl").sampling().value_p_random == 1.0 and component("crl").sampling().value_p_traj == 1.0
    assert (component("gciql").sampling().value_p_cur, component("gcivl").sampling().value_p_random) == (0.2, 0.3)
    assert component("gciql_giant").sampling().discount == 0.995 == component("hiql_giant").sampling().discount
    assert component("gciql").build(t, None, "hash", ("observation",)).config.actor_loss == "ddpgbc"  # type: ignore[arg-type]
    # the existing components are unchanged: k and OGBench's value-goal mix, discount 0.99
    assert component("hiql_k10").sampling() == GoalSampling(subgoal_steps=10)
    assert component("gcbc").sampling() == GoalSampling()
    assert {"gcivl", "gciql_play", "qrl_noisy", "crl_giant", "hiql_giant"} <= set(GC_COMPONENTS)
    assert {"gcivl_cpu", "crl_giant_cpu", "hiql_giant_cpu"} <= set(AGENTS.names()) & set(COMPONENTS.names())


def test_presets_of_the_four_documented_datasets() -> None:
    assert preset_of("pointmaze-large-v0", "navigate") == "navigate"
    assert preset_of("pointmaze-giant-v0", "navigate") == "giant"
    assert [preset_of(e, "play") for e in ("puzzle-3x3-v0", "cube-single-v0", "scene-v0")] == ["play"] * 3
    with pytest.raises(ValueError, match="dataset"):
        preset_of("scene-v0", "navigate")


@pytest.mark.parametrize("method", METHODS)
def test_save_load_round_trip_through_the_run_directory(tmp_path: Path, method: str) -> None:
    torch.manual_seed(0)
    t = _tables()
    name = method + "_play_cpu"
    c = component(name)
    net = c.build(t, None, "hash", ("observation",))  # type: ignore[arg-type]
    cfg = TrainerConfig(max_steps=2, batch_size=16, lr=1e-3, grad_clip=None, tensorboard=False, progress=False,
                        checkpoint_every=2)
    Trainer(net, cfg, tmp_path / "train", c.sampler(t, None, 16)).fit()  # type: ignore[arg-type]
    run = RunDir(tmp_path / "run")
    net.save(run.model_dir(name))
    loaded = c.load(run.require_model(name))
    assert type(loaded) is type(net) and loaded.config == net.config
    assert loaded.config.alpha == OGBENCH_HYPERPARAMETERS[method]["play"]["alpha"]
    for (k, a), (k2, b) in zip(net.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b), k
    obs = {"observation": t.obs[3], "desired_goal": t.achieved[20]}
    agent = GCAgent(loaded)
    action = agent.act(obs)
    assert action.shape == (2,) and np.abs(action).max() <= 1.0
    with torch.no_grad():
        want = net.eval()(torch.tensor(t.obs[3:4]), torch.tensor(t.achieved[20:21]))[0].clamp(-1, 1).numpy()
    np.testing.assert_allclose(action, want, rtol=1e-5, atol=1e-6)


def test_actor_goal_sampling_options() -> None:
    t = _tables()
    row_step = lambda b: (b["obs"][:, 0], b["obs"][:, 1])  # noqa: E731  (episode, step) of each row
    # default: strictly later in the same episode, identical draws to before (no extra random numbers)
    default = GoalSampler(t, 256, GoalSampling())(0, np.random.default_rng(1))
    ep, step = row_step(default)
    assert (default["actor_goal"][:, 0] == ep).all() and (default["actor_goal"][:, 1] > step).all()
    # current state only
    cur = GoalSampler(t, 256, GoalSampling(actor_p_cur=1.0, actor_p_traj=0.0))(0, np.random.default_rng(1))
    torch.testing.assert_close(cur["actor_goal"], cur["obs"])
    torch.testing.assert_close(cur["high_target"], cur["obs"])  # min(k ahead, the goal) is the state itself
    # half random (OGBench's stitch setting): random goals have the target k steps ahead (HGCDataset)
    b = GoalSampler(t, 2000, GoalSampling(actor_p_traj=0.5, actor_p_random=0.5, subgoal_steps=5))(0, np.random.default_rng(2))
    ep, step = row_step(b)
    later = (b["actor_goal"][:, 0] == ep) & (b["actor_goal"][:, 1] > step)
    assert 0.55 < later.float().mean() < 0.85  # 50 % future + the random goals that happen to lie ahead
    torch.testing.assert_close(b["high_target"][~later][:, 1], torch.minimum(step + 5, torch.tensor(30.0))[~later])
    # geometric offsets: mean offset ~ 1 / (1 - discount) (capped at the episode end)
    geo = GoalSampler(t, 4000, GoalSampling(actor_geom_sample=True, discount=0.8))(0, np.random.default_rng(3))
    offset = geo["actor_goal"][:, 1] - geo["obs"][:, 1]
    assert offset.min() >= 1 and 4.0 < offset.float().mean() < 5.5
    # the achieved goals of the state and of the state after the action (the final observation at the last step)
    torch.testing.assert_close(default["obs_goal"], default["obs"])
    torch.testing.assert_close(default["next_obs_goal"][:, 1], default["obs"][:, 1] + 1)


@pytest.mark.parametrize(("cls", "kwargs", "field"), [
    (GCIVLConfig, {"expectile": 1.0}, "expectile"),
    (GCIVLConfig, {"tau": 0.0}, "tau"),
    (GCIVLConfig, {"alpha": -1.0}, "alpha"),
    (GCIQLConfig, {"actor_loss": "sac"}, "actor_loss"),
    (GCIQLConfig, {"value_p_cur": 0.5}, "value_p_cur"),
    (GCIQLConfig, {"actor_p_random": 0.5}, "actor_p_random"),
    (QRLConfig, {"quasimetric": "l2"}, "quasimetric"),
    (QRLConfig, {"latent_dim": 12}, "latent_dim"),
    (QRLConfig, {"eps": -0.1}, "eps"),
    (GCIVLConfig, {"discount": 1.0}, "discount"),
])
def test_bad_config_values_name_the_field(cls: type, kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        cls(3, 2, 3, **kwargs)
