"""Action heads (hirl.policies.heads): shapes, learning on a tiny problem, save/load, chunk execution (temporal
ensembling against hand-computed numbers, receding-horizon order), observation history at inference, diffusion
sampling, and the default head reproducing networks saved before heads existed."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from hirl.config import from_dict, to_dict
from hirl.errors import InputError
from hirl.policies.flat import ChainOfThoughtAgent, ChainOfThoughtPolicy, CoTConfig, FlatAgent, FlatConfig, FlatPolicy
from hirl.policies.heads import ChunkExecutor, HeadConfig, HeadRunner, ObsHistory, build_head
from hirl.policies.heads.diffusion import DiffusionHeadConfig
from hirl.policies.low import BCConfig, BCLowLevel, GoalConditionedBC
from hirl.registry import ACTION_HEADS
from hirl.types import Command, Subgoal

from .helpers import A, CHAINS, E, S, SKILLS, chain_data, encoder

LEGACY = Path(__file__).parent / "data" / "legacy"  # tiny models saved by the code before heads existed (README.md)
# Outputs saved on another machine: float32 (|x| <= 0.4) from other BLAS kernels / summation orders differ by a few ulps
# (up to 3e-8 seen); 1e-6 is ~30x that and ~1000x below what a changed weight, layer or head moves them by.
# Bit-identity is only asked of values computed in the same process.
CROSS_MACHINE_TOL = {"rtol": 1e-6, "atol": 1e-6}
C = 16  # conditioning features of the head-only tests

HEADS = {  # a small config of every registered head, and the non-default options worth covering
    "mlp": HeadConfig(),
    "mlp_binary": HeadConfig(grip="binary"),
    "chunk": HeadConfig(kind="chunk", horizon=4, execute=2),
    "chunk_l1_binary": HeadConfig(kind="chunk", horizon=4, loss="l1", grip="binary", execution="ensemble"),
    "diffusion": DiffusionHeadConfig(kind="diffusion", horizon=4, execute=2, diffusion_train_steps=20, diffusion_steps=4,
                            denoiser_width=64, denoiser_blocks=2),
}


def test_every_registered_head_is_covered() -> None:
    assert {c.kind for c in HEADS.values()} == set(ACTION_HEADS.names())


def tiny_problem(n: int, head: HeadConfig, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """cond (n, C); target chunks (n, H, A): a fixed smooth function of cond, the grip +-1; a mask with some padding."""
    rng = np.random.default_rng(seed)
    cond = rng.normal(size=(n, C)).astype(np.float32)
    w = np.random.default_rng(1).normal(size=(C, head.horizon * A)).astype(np.float32) / np.sqrt(C)
    target = np.tanh(cond @ w).reshape(n, head.horizon, A)
    target[..., -1] = np.sign(target[..., -1] + 1e-6)
    mask = (np.arange(head.horizon)[None] < rng.integers(1, head.horizon + 1, size=(n, 1))).astype(np.float32)
    return torch.from_numpy(cond), torch.from_numpy(target), torch.from_numpy(mask)


@pytest.mark.parametrize("name", sorted(HEADS))
def test_head_shapes_loss_decreases_and_bounds(name: str) -> None:
    cfg = HEADS[name]
    head = build_head(cfg, C, A, (64, 64))
    cond, target, mask = tiny_problem(512, cfg)
    out = head.predict(cond[:5])
    assert out.shape == (5, cfg.horizon, A) and out.abs().max() <= 1
    if cfg.grip == "binary":
        assert set(out[..., -1].unique().tolist()) <= {-1.0, 1.0}
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    losses = []
    for step in range(300):
        rows = torch.from_numpy(np.random.default_rng(step).integers(0, 512, 64))
        loss, metrics = head.loss(cond[rows], target[rows], mask[rows] if cfg.horizon > 1 else None)
        assert loss.ndim == 0 and all(np.isfinite(v) for v in metrics.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    first, last = np.mean(losses[:10]), np.mean(losses[-10:])
    assert last < 0.5 * first, (name, first, last)
    head.eval()
    with torch.no_grad():  # validation losses of the diffusion head use a fixed generator: the same every time
        assert head.loss(cond[:32], target[:32])[0].item() == head.loss(cond[:32], target[:32])[0].item()


def test_chunk_loss_skips_padded_steps_unless_asked() -> None:
    masked = build_head(HeadConfig(kind="chunk", horizon=3), C, A, (8,))
    fitted = build_head(HeadConfig(kind="chunk", horizon=3, pad_loss=True), C, A, (8,))
    fitted.load_state_dict(masked.state_dict())
    cond, target, _ = tiny_problem(4, masked.config)
    mask = torch.tensor([[1.0, 0.0, 0.0]] * 4)
    far = target.clone()
    far[:, 1:] = -far[:, 1:]  # the padded steps' targets changed: the masked loss does not see it
    assert torch.equal(masked.loss(cond, target, mask)[0], masked.loss(cond, far, mask)[0])
    assert not torch.equal(fitted.loss(cond, target, mask)[0], fitted.loss(cond, far, mask)[0])


def test_diffusion_sampling_shape_bounds_samplers_and_generator() -> None:
    cfg = HEADS["diffusion"]
    head = build_head(cfg, C, A, ()).eval()
    cond = torch.randn(3, C)
    for sampler in ("ddim", "ddpm"):
        run = replace(cfg, diffusion_sampler=sampler, diffusion_steps=3)
        with torch.no_grad():
            a = head.predict(cond, torch.Generator().manual_seed(4), run)
            b = head.predict(cond, torch.Generator().manual_seed(4), run)
        assert a.shape == (3, cfg.horizon, A) and a.abs().max() <= 1 and torch.isfinite(a).all()
        assert torch.equal(a, b)  # the generator makes sampling reproducible
        assert len(head.sampler(run).timesteps) == 3
    with torch.no_grad():
        c = head.predict(cond, torch.Generator().manual_seed(5))
    assert not torch.equal(c, a)


@pytest.mark.parametrize("prediction", ["epsilon", "sample"])
def test_ddim_update_equals_the_diffusers_scheduler_step(prediction: str) -> None:
    """The head applies DDIMScheduler.step (eta 0) through precomputed coefficients: the same chunks as a loop over
    diffusers' own step."""
    head = build_head(replace(HEADS["diffusion"], prediction=prediction), C, A, ()).eval()
    cond = torch.randn(2, C)
    with torch.no_grad():
        fast = head.predict(cond, torch.Generator().manual_seed(1))
        scheduler = head.sampler()
        x = torch.randn((2, head.horizon, A), generator=torch.Generator().manual_seed(1))
        for t in scheduler.timesteps:
            out = head.denoiser(x, torch.full((2,), int(t), dtype=torch.long), cond)
            x = scheduler.step(out, t, x).prev_sample
    torch.testing.assert_close(fast, x.clamp(-1, 1), rtol=1e-5, atol=1e-5)


# -- networks with heads: save / load ------------------------------------------------------------------------------
def bc(head: HeadConfig, kind: str = "language") -> GoalConditionedBC:
    return GoalConditionedBC(BCConfig(goal_kind=kind, obs_dim=S, action_dim=A, goal_dim=5, text_dim=E, text_encoder="hash",
                                      obs_feat=16, goal_feat=8, encoder_hidden=(16,), hidden=(32,), head=head))


@pytest.mark.parametrize("name", ["chunk_l1_binary", "diffusion"])
def test_networks_with_heads_round_trip(name: str, tmp_path: Path) -> None:
    head = replace(HEADS[name], history=2)
    data = chain_data(64)
    obs = torch.from_numpy(np.stack([data["obs"], data["obs"][::-1]], axis=1)[:6])  # (6, 2, S)
    small = dict(text_dim=E, text_encoder="hash", obs_feat=16, cmd_dim=16, encoder_hidden=(16,), hidden=(32, 32),
                 head_hidden=(32,), head=head)
    cmd, mask, prev = (torch.from_numpy(data[k][:6]) for k in ("command_emb", "command_mask", "prev_emb"))
    nets = {
        "low": (bc(head).fit(data["obs"]), lambda m: m(obs, torch.from_numpy(data["goal_emb"][:6]))),
        "flat": (FlatPolicy(FlatConfig(obs_dim=S, action_dim=A, **small)).fit(data["obs"]), lambda m: m(obs, cmd, mask)),
        "cot": (ChainOfThoughtPolicy(CoTConfig(obs_dim=S, action_dim=A, goal_feat=8, **small), SKILLS,
                                     encoder().encode(SKILLS)).fit(data["obs"]), lambda m: m(obs, cmd, mask, prev)[1]),
    }
    for key, (net, run) in nets.items():
        net.eval()
        loaded = type(net).load(net.save(tmp_path / key))
        assert loaded.config == net.config and loaded.config.head == head
        assert list(loaded.state_dict()) == list(net.state_dict())
        with torch.no_grad():
            torch.manual_seed(3)
            a = run(net)
            torch.manual_seed(3)
            b = run(loaded)
        assert a.shape == (6, head.horizon, A) and torch.equal(a, b), key


def test_default_head_reproduces_networks_saved_before_heads() -> None:
    """The models in tests/policies/data/legacy were saved by the code before heads existed (config.json without a
    head section): they load as the mlp head, with the same parameters, and give the saved outputs (within
    CROSS_MACHINE_TOL: those were computed on another machine)."""
    d = np.load(LEGACY / "expected.npz")
    t = torch.from_numpy
    low = GoalConditionedBC.load(LEGACY / "low_language")
    flat = FlatPolicy.load(LEGACY / "flat")
    cot = ChainOfThoughtPolicy.load(LEGACY / "cot")
    assert low.config.head == flat.config.head == cot.config.head == HeadConfig()
    assert [k for k in low.state_dict() if k.startswith("head.")] == ["head.0.weight", "head.0.bias", "head.2.weight",
                                                                      "head.2.bias", "head.4.weight", "head.4.bias"]
    with torch.no_grad():
        outputs = {"low": low(t(d["obs"]), t(d["emb"])), "flat": flat(t(d["obs"]), t(d["cmd"]), t(d["mask"])),
                   "cot": cot(t(d["obs"]), t(d["cmd"]), t(d["mask"]), t(d["prev"]))[1]}
    for name, out in outputs.items():
        torch.testing.assert_close(out[:, 0], t(d[name]), **CROSS_MACHINE_TOL, msg=lambda m, name=name: f"{name}: {m}")


def test_head_config_errors_are_one_line() -> None:
    for bad, match in (({"kind": "mlp", "horizon": 10}, "use kind chunk"), ({"kind": "chunk", "horizon": 3, "execute": 4},
                       "execute"), ({"kind": "transformer"}, "key 'kind': unknown action head 'transformer'"),
                       ({"history": 0}, "history"),
                       ({"loss": "huber"}, "loss")):
        with pytest.raises(InputError, match=match) as err:
            from_dict(HeadConfig, bad, "cfg.yaml")
        assert "\n" not in str(err.value)


def test_head_kind_picks_the_config_class_declared_beside_the_head() -> None:
    assert type(from_dict(HeadConfig, {"kind": "chunk", "horizon": 3})) is HeadConfig
    diffusion = from_dict(HeadConfig, {"kind": "diffusion", "horizon": 4, "diffusion_steps": 5})
    assert type(diffusion) is DiffusionHeadConfig and diffusion.diffusion_steps == 5
    with pytest.raises(InputError, match=r"cfg.yaml: key 'diffusion_steps': unknown key"):  # a diffusion field on a chunk
        from_dict(HeadConfig, {"kind": "chunk", "horizon": 3, "diffusion_steps": 5}, "cfg.yaml")
    with pytest.raises(ValueError, match=r"head\.kind diffusion is configured by DiffusionHeadConfig"):
        HeadConfig(kind="diffusion")


def test_a_flat_head_config_written_before_the_split_loads_as_before() -> None:
    """A network's config.json (or a run's config.yaml) of the one flat HeadConfig: every field of every kind."""
    flat_mlp = {"kind": "mlp", "horizon": 1, "execution": "receding", "execute": 1, "ensemble_decay": 0.01, "loss": "mse",
                "grip": "regress", "grip_weight": 1.0, "history": 1, "history_pad": "edge", "pad_loss": False,
                "diffusion_train_steps": 100, "diffusion_steps": 10, "diffusion_sampler": "ddim",
                "beta_schedule": "squaredcos_cap_v2", "prediction": "epsilon", "denoiser_width": 128, "denoiser_blocks": 3,
                "time_dim": 32}
    assert from_dict(HeadConfig, flat_mlp) == HeadConfig()
    assert from_dict(HeadConfig, dict(flat_mlp, kind="diffusion", horizon=4, diffusion_steps=3)) == DiffusionHeadConfig(
        horizon=4, diffusion_steps=3)
    assert "diffusion_steps" not in to_dict(HeadConfig()) and to_dict(HeadConfig()).items() <= flat_mlp.items()


def test_run_as_takes_only_inference_fields_of_the_same_head() -> None:
    trained = HeadConfig(kind="chunk", horizon=6, execute=3, loss="l1")
    run = HeadConfig(kind="chunk", horizon=6, execution="ensemble", ensemble_decay=0.2, loss="mse", history=3)
    got = trained.run_as(run)
    assert (got.execution, got.ensemble_decay, got.loss, got.history) == ("ensemble", 0.2, "l1", 1)
    assert trained.run_as(HeadConfig()) == trained and trained.run_as(None) == trained  # another head: as trained


# -- executing chunks ----------------------------------------------------------------------------------------------
def test_temporal_ensembling_against_a_hand_computed_example() -> None:
    """H = 3, m = 0.5: weights exp(-0.5 i) = 1, 0.60653066, 0.36787944 (i = 0 the oldest prediction covering t)."""
    ex = ChunkExecutor(HeadConfig(kind="chunk", horizon=3, execution="ensemble", ensemble_decay=0.5), 1)
    chunks = [[0.0, 0.3, 0.6], [0.1, 0.4, 0.7], [0.2, 0.5, 0.8], [0.9, 0.0, 0.0]]  # predicted at t = 0, 1, 2, 3
    expected = [
        0.0,  # t=0: c0[0]
        (0.3 + 0.60653066 * 0.1) / 1.60653066,  # t=1: c0[1], c1[0]                           = 0.22449187
        (0.6 + 0.60653066 * 0.4 + 0.36787944 * 0.2) / 1.97441010,  # t=2: c0[2], c1[1], c2[0] = 0.46403133
        (0.7 + 0.60653066 * 0.5 + 0.36787944 * 0.9) / 1.97441010,  # t=3: c0 expired          = 0.67582557
    ]
    got = []
    for c in chunks:
        assert ex.needs_prediction()  # ensembling predicts every step
        ex.push(np.array(c, np.float32)[:, None])
        got.append(float(ex.next()[0]))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(got[1:], [0.22449187, 0.46403133, 0.67582557], rtol=1e-6)
    binary = ChunkExecutor(HeadConfig(kind="chunk", horizon=2, execution="ensemble", ensemble_decay=0.0, grip="binary"), 2)
    binary.push(np.array([[0.5, 1.0], [0.5, 1.0]], np.float32))
    binary.next()
    binary.push(np.array([[0.1, -1.0], [0.1, -1.0]], np.float32))
    np.testing.assert_allclose(binary.next(), [0.3, -1.0], rtol=1e-6)  # a tie between open and closed: -1 (open)


def test_receding_horizon_runs_execute_actions_then_re_predicts() -> None:
    ex = ChunkExecutor(HeadConfig(kind="chunk", horizon=4, execute=2), 1)
    order = []
    for k in range(3):
        assert ex.needs_prediction()
        ex.push(np.arange(4 * k, 4 * k + 4, dtype=np.float32)[:, None] / 10)
        order.append(float(ex.next()[0]))
        assert not ex.needs_prediction()
        order.append(float(ex.next()[0]))
    np.testing.assert_allclose(order, [0.0, 0.1, 0.4, 0.5, 0.8, 0.9], rtol=1e-6)
    with pytest.raises(RuntimeError, match="push"):
        ex.next()


class Scripted:
    """Records the inputs a wrapper feeds the network and returns numbered chunks (H, A)."""

    def __init__(self, horizon: int) -> None:
        self.horizon, self.calls, self.inputs = horizon, 0, []

    def __call__(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        self.inputs.append(x.clone())
        base = 100.0 * self.calls
        self.calls += 1
        return (base + torch.arange(self.horizon, dtype=torch.float32))[None, :, None].repeat(1, 1, A) / 1000


def test_low_level_queue_is_dropped_on_a_new_goal_and_on_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    low = BCLowLevel(bc(HeadConfig(kind="chunk", horizon=4, execute=3, history=3)), encoder())
    net = Scripted(4)
    monkeypatch.setattr(low.model, "predict", net)
    obs = [{"observation": np.full(S, float(i))} for i in range(8)]
    g1, g2 = Subgoal("language", "open the drawer"), Subgoal("language", "push the button")
    acts = [low.act(obs[0], g1)[0], low.act(obs[1], g1)[0]]
    assert low.predicted is False and net.calls == 1
    acts.append(low.act(obs[2], Subgoal("language", "open the drawer"))[0])  # a new object, the same goal: kept
    acts.append(low.act(obs[3], g1)[0])  # 3 executed: re-predict
    acts.append(low.act(obs[4], g2)[0])  # another goal: pending actions dropped
    np.testing.assert_allclose(acts, [0.0, 0.001, 0.002, 0.1, 0.2], rtol=1e-6)
    assert net.calls == 3 and low.predicted
    # the history (k = 3) is edge-padded at the episode start and runs on across the goal switch
    np.testing.assert_array_equal(net.inputs[0][0, :, 0], [0, 0, 0])
    np.testing.assert_array_equal(net.inputs[1][0, :, 0], [1, 2, 3])
    np.testing.assert_array_equal(net.inputs[2][0, :, 0], [2, 3, 4])
    low.reset()
    low.act(obs[7], g2)
    assert net.calls == 4
    np.testing.assert_array_equal(net.inputs[3][0, :, 0], [7, 7, 7])


def test_obs_history_padding() -> None:
    edge, zero = ObsHistory(3, "edge"), ObsHistory(3, "zero")
    first = np.array([1.0, 2.0])
    np.testing.assert_array_equal(edge.push(first), [[1, 2], [1, 2], [1, 2]])
    np.testing.assert_array_equal(zero.push(first), [[0, 0], [0, 0], [1, 2]])
    np.testing.assert_array_equal(zero.push(first + 1), [[0, 0], [1, 2], [2, 3]])
    edge.reset()
    np.testing.assert_array_equal(edge.push(first + 5), [[6, 7]] * 3)
    runner = HeadRunner(HeadConfig(), A)  # no history: the observation itself with a batch axis
    assert tuple(runner.observe(np.zeros(S)).shape) == (1, S)


def test_baseline_agents_run_chunked_heads() -> None:
    data = chain_data(64)
    small = dict(text_dim=E, text_encoder="hash", obs_feat=16, cmd_dim=16, encoder_hidden=(16,), hidden=(32, 32),
                 head_hidden=(32,), head=HeadConfig(kind="chunk", horizon=3, execute=3, history=2))
    flat = FlatAgent(FlatPolicy(FlatConfig(obs_dim=S, action_dim=A, **small)).fit(data["obs"]), encoder())
    cot = ChainOfThoughtAgent(ChainOfThoughtPolicy(CoTConfig(obs_dim=S, action_dim=A, goal_feat=8, **small), SKILLS,
                                                   encoder().encode(SKILLS)).fit(data["obs"]), encoder())
    command = Command("c", tuple(SKILLS[i] for i in CHAINS[0]))
    for agent in (flat, cot):
        agent.reset(command)
        acts = [agent.act({"observation": data["obs"][i]}) for i in range(4)]
        assert all(a.shape == (A,) and a.dtype == np.float32 for a in acts) and agent.step_count == 4
        assert agent.runner.predictions <= 2 + cot.num_replans  # one prediction per 3 steps (+ subgoal switches)
        agent.reset(command)
        assert agent.runner.predictions == 0
