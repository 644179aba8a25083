import time

import numpy as np
import pytest
import torch

from hirl.errors import InputError
from hirl.learn import ArraySampler, Trainer, TrainerConfig, configure_torch_threads
from hirl.policies.low import BCConfig, BCLowLevel, GoalConditionedBC
from hirl.types import Subgoal

from .helpers import A, E, G, S, SKILLS, chain_data, encoder, to_batch, train


def make(kind: str) -> GoalConditionedBC:
    cfg = BCConfig(goal_kind=kind, obs_dim=S, action_dim=A, goal_dim=G, text_dim=E, text_encoder="hash",
                   obs_feat=64, goal_feat=32, encoder_hidden=(64,), hidden=(128, 128), image_channels=(8, 16, 16, 16))
    return GoalConditionedBC(cfg)


def image_data(data: dict, size: int = 16) -> np.ndarray:
    """One flat-coloured goal frame per skill (the image variant must tell them apart)."""
    colours = (np.arange(len(SKILLS))[:, None] * np.array([40, 90, 150]) % 256).astype(np.uint8)
    return np.broadcast_to(colours[data["target"]][:, None, None, :], (len(data["target"]), size, size, 3)).copy()


@pytest.mark.parametrize("kind", ["language", "state", "image"])
def test_bc_shapes_overfit_roundtrip(kind, tmp_path):
    data = chain_data(512)
    data["goal_image"] = image_data(data)
    net = make(kind).fit(data["obs"], data["goal_state"])
    keys = ["obs", "action", net.goal_key]
    out = net(torch.from_numpy(data["obs"][:3]), torch.from_numpy(data[net.goal_key][:3]))
    assert out.shape == (3, 1, A) and out.abs().max() <= 1  # (B, H, A), mlp: H = 1
    first, last = train(net, {k: data[k] for k in keys}, steps=300)
    assert last < 0.5 * first, (first, last)
    net.save(tmp_path / "m")
    loaded = GoalConditionedBC.load(tmp_path / "m")
    batch = to_batch({k: data[k][:16] for k in keys})
    with torch.no_grad():
        assert torch.equal(net(batch["obs"], batch[net.goal_key]), loaded(batch["obs"], batch[net.goal_key]))
    low = BCLowLevel(loaded, encoder())
    goal = {"language": Subgoal("language", SKILLS[0]), "state": Subgoal("state", data["goal_state"][0]),
            "image": Subgoal("image", data["goal_image"][0])}[kind]
    act = low.act({"observation": data["obs"][0].astype(np.float64)}, goal)
    assert act.shape == (A,) and act.dtype == np.float32
    with pytest.raises(TypeError, match="subgoal"):
        other = Subgoal("language", "x") if kind != "language" else Subgoal("state", np.zeros(G))
        low.act({"observation": data["obs"][0]}, other)


def test_bc_language_paraphrase_close_to_original():
    data = chain_data(512)
    net = make("language").fit(data["obs"])
    train(net, {k: data[k] for k in ("obs", "action", "goal_emb")}, steps=200)
    low = BCLowLevel(net, encoder())
    obs = {"observation": data["obs"][0]}
    a = low.act(obs, Subgoal("language", "open the drawer"))
    para = low.act(obs, Subgoal("language", "open the drawer please"))  # a new instruction works: it is just an embedding
    other = low.act(obs, Subgoal("language", "push the button"))
    assert para.shape == (A,) and np.abs(a - para).sum() < np.abs(a - other).sum() + 1.0


def test_bc_with_the_trainer(tmp_path):
    data = chain_data(256)
    net = make("state").fit(data["obs"], data["goal_state"])
    arrays = {k: data[k] for k in ("obs", "action", "goal_state")}
    res = Trainer(net, TrainerConfig(max_steps=30, log_every=10, checkpoint_every=30, tensorboard=False, progress=False),
                  tmp_path / "run", ArraySampler(arrays, 32)).fit()
    assert res.steps_done == 30
    loaded = GoalConditionedBC.load(net.save(tmp_path / "m"), weights=res.last_path)
    assert loaded.config == net.config


def test_bc_corrupt_or_missing_files(tmp_path):
    net = make("language")
    d = net.save(tmp_path / "m")
    (d / "weights.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InputError, match=r"weights\.safetensors"):
        GoalConditionedBC.load(d)
    (d / "weights.safetensors").unlink()
    with pytest.raises(InputError, match=r"weights\.safetensors"):
        GoalConditionedBC.load(d)
    (d / "config.json").write_text("{broken")
    with pytest.raises(InputError, match=r"config\.json"):
        GoalConditionedBC.load(d)
    with pytest.raises(InputError, match=r"config\.json"):
        GoalConditionedBC.load(tmp_path / "nowhere")
    net.save(tmp_path / "n")
    text = (tmp_path / "n" / "config.json").read_text().replace('"goal_feat"', '"goal_featt"')
    (tmp_path / "n" / "config.json").write_text(text)
    with pytest.raises(InputError, match="goal_featt"):
        GoalConditionedBC.load(tmp_path / "n")


def test_bc_registry_builds_from_dir(tmp_path):
    make("state").save(tmp_path / "m")
    low = BCLowLevel(tmp_path / "m")
    assert isinstance(low, BCLowLevel)


@pytest.mark.parametrize("kind", ["language", "state"])
def test_bc_act_latency(kind):
    configure_torch_threads()
    net = GoalConditionedBC(BCConfig(goal_kind=kind, obs_dim=32, goal_dim=14, text_dim=E, text_encoder="hash"))
    low = BCLowLevel(net, encoder())
    goal = Subgoal("language", "open the drawer") if kind == "language" else Subgoal("state", np.zeros(14))
    obs = {"observation": np.random.default_rng(0).normal(size=32), "achieved_goal": np.zeros(14)}
    for _ in range(20):
        low.act(obs, goal)
    t0 = time.perf_counter()
    for _ in range(200):
        low.act(obs, goal)
    mean_ms = (time.perf_counter() - t0) / 200 * 1e3
    assert mean_ms < 5.0, f"{kind}: {mean_ms:.2f} ms per act()"


def test_bc_goal_residual_reads_the_achieved_goal(tmp_path):
    """goal_residual: the state goal encoder sees [goal, goal - achieved] (2G); training batches need `achieved`,
    inference reads obs["achieved_goal"] every step, so the same goal from two achieved goals acts differently."""
    data = chain_data(512)
    achieved = np.roll(data["goal_state"], 7, axis=0)  # some other achieved goal per row
    cfg = BCConfig(goal_kind="state", obs_dim=S, action_dim=A, goal_dim=G, text_dim=E, text_encoder="hash",
                   obs_feat=64, goal_feat=32, encoder_hidden=(64,), hidden=(128, 128), goal_residual=True)
    net = GoalConditionedBC(cfg).fit(data["obs"], data["goal_state"], achieved=achieved)
    assert net.goal_encoder.norm_mean.shape[-1] == 2 * G  # normaliser fitted on [goal, goal - achieved]
    batch = to_batch({"obs": data["obs"][:8], "action": data["action"][:8], "goal_state": data["goal_state"][:8]})
    with pytest.raises(KeyError, match="achieved"):
        net.loss(batch)
    batch["achieved"] = torch.from_numpy(achieved[:8])
    loss, _ = net.loss(batch)
    assert torch.isfinite(loss)
    first, last = train(net, {"obs": data["obs"], "action": data["action"], "goal_state": data["goal_state"],
                              "achieved": achieved}, steps=300)
    assert last < 0.5 * first, (first, last)
    loaded = GoalConditionedBC.load(net.save(tmp_path / "m"))
    assert loaded.config.goal_residual
    low = BCLowLevel(loaded)
    goal = Subgoal("state", data["goal_state"][0])
    obs = {"observation": data["obs"][0]}
    with pytest.raises(ValueError, match="'achieved_goal'"):
        low.act(obs, goal)
    a = low.act({**obs, "achieved_goal": achieved[0]}, goal)
    with torch.no_grad():
        direct = net(batch["obs"][:1], batch["goal_state"][:1], batch["achieved"][:1])[0, 0].numpy()
    np.testing.assert_allclose(a, direct, atol=1e-5)
    b = low.act({**obs, "achieved_goal": data["goal_state"][0]}, goal)  # goal reached: residual zero
    assert np.abs(a - b).max() > 1e-4
    with pytest.raises(ValueError, match="goal_residual needs state goals"):
        BCConfig(goal_kind="language", goal_residual=True)


def test_bc_goal_noise_perturbs_training_goals_only():
    """goal_noise: training losses see goals jittered by goal_noise x the goal dims' std; eval mode is exact."""
    data = chain_data(256)
    cfg = BCConfig(goal_kind="state", obs_dim=S, action_dim=A, goal_dim=G, text_dim=E, text_encoder="hash",
                   obs_feat=64, goal_feat=32, encoder_hidden=(64,), hidden=(64,), goal_noise=0.5)
    net = GoalConditionedBC(cfg).fit(data["obs"], data["goal_state"])
    batch = to_batch({k: data[k][:32] for k in ("obs", "action", "goal_state")})
    torch.manual_seed(0)
    a = net.loss(batch)[0].item()
    b = net.loss(batch)[0].item()
    assert a != b  # a fresh draw of goal noise each batch
    net.eval()
    assert net.loss(batch)[0].item() == net.loss(batch)[0].item()
    with pytest.raises(ValueError, match="goal_noise"):
        BCConfig(goal_kind="language", goal_noise=0.1)
