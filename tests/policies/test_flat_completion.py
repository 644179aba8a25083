import numpy as np
import pytest
import torch

from hirl.errors import InputError
from hirl.hierarchy.completion import LearnedCompletion
from hirl.policies.completion import CompletionClassifier, CompletionConfig, CompletionNet
from hirl.policies.flat import ChainOfThoughtAgent, ChainOfThoughtPolicy, CoTConfig, FlatAgent, FlatConfig, FlatPolicy
from hirl.types import Command, Subgoal

from .helpers import A, CHAINS, E, S, SKILLS, chain_data, encoder, to_batch, train

FLAT_KEYS = ("obs", "command_emb", "command_mask", "action")
COT_KEYS = ("obs", "command_emb", "command_mask", "prev_emb", "target", "action")
DONE_KEYS = ("obs", "goal_emb", "done")
SMALL = dict(text_dim=E, text_encoder="hash", obs_feat=32, cmd_dim=64, encoder_hidden=(64,), hidden=(128, 128))


def test_flat_policy(tmp_path):
    data = chain_data(1024)
    net = FlatPolicy(FlatConfig(obs_dim=S, action_dim=A, head_hidden=(128,), **SMALL)).fit(data["obs"])
    first, last = train(net, {k: data[k] for k in FLAT_KEYS}, steps=300)
    assert last < 0.7 * first, (first, last)  # flat cannot know the position in the chain: only a partial fit
    loaded = FlatPolicy.load(net.save(tmp_path / "f"))
    b = to_batch({k: data[k][:8] for k in FLAT_KEYS})
    with torch.no_grad():
        args = (b["obs"], b["command_emb"], b["command_mask"])
        assert torch.equal(net(*args), loaded(*args))
    agent = FlatAgent(loaded, encoder())
    cmd = Command("c", tuple(SKILLS[i] for i in CHAINS[0]))
    with pytest.raises(RuntimeError, match="reset"):
        agent.act({"observation": np.zeros(S)})
    agent.reset(cmd)
    a = agent.act({"observation": np.zeros(S)}, {})
    assert a.shape == (A,) and a.dtype == np.float32
    assert agent.subgoal is None and agent.num_queries == 0 and agent.step_count == 1


def test_chain_of_thought(tmp_path):
    data = chain_data(2048)
    cfg = CoTConfig(obs_dim=S, action_dim=A, goal_feat=32, head_hidden=(128,), **SMALL)
    net = ChainOfThoughtPolicy(cfg, candidates=SKILLS, candidate_embs=encoder().encode(SKILLS)).fit(data["obs"])
    b = to_batch({k: data[k][:8] for k in COT_KEYS})
    logits, action, choice = net(b["obs"], b["command_emb"], b["command_mask"], b["prev_emb"])
    assert logits.shape == (8, len(SKILLS)) and action.shape == (8, 1, A) and choice.shape == (8,)  # (B, H, A), mlp: H = 1
    first, last = train(net, {k: data[k] for k in COT_KEYS}, steps=300)
    assert last < 0.3 * first, (first, last)
    _, metrics = net.loss(to_batch({k: data[k][:512] for k in COT_KEYS}))
    assert metrics["acc"] > 0.9
    d = net.save(tmp_path / "cot")
    loaded = ChainOfThoughtPolicy.load(d)
    assert loaded.candidates == SKILLS
    with torch.no_grad():
        assert torch.equal(net(b["obs"], b["command_emb"], b["command_mask"], b["prev_emb"])[1],
                           loaded(b["obs"], b["command_emb"], b["command_mask"], b["prev_emb"])[1])
    agent = ChainOfThoughtAgent(d, encoder())
    chain = CHAINS[0]
    agent.reset(Command("c", tuple(SKILLS[i] for i in chain)))
    a = agent.act({"observation": np.zeros(S)})
    assert a.shape == (A,) and a.dtype == np.float32 and agent.num_queries == 0
    assert isinstance(agent.subgoal, Subgoal) and agent.subgoal.value == SKILLS[chain[0]]
    (d / "config.json").write_text("[]")
    with pytest.raises(InputError, match=r"config\.json"):
        ChainOfThoughtPolicy.load(d)


def test_completion_classifier(tmp_path):
    data = chain_data(2048)
    net = CompletionNet(CompletionConfig(obs_dim=S, text_dim=E, text_encoder="hash", obs_feat=32, goal_feat=32,
                                         encoder_hidden=(64,), hidden=(64,))).fit(data["obs"])
    first, last = train(net, {k: data[k] for k in DONE_KEYS}, steps=300, lr=1e-2)
    assert last < 0.6 * first, (first, last)
    _, metrics = net.loss(to_batch({k: data[k][:512] for k in DONE_KEYS}))
    assert metrics["acc"] > 0.75  # chance: 0.5
    d = net.save(tmp_path / "c")
    clf = CompletionClassifier.load(d, encoder())
    obs_done = np.zeros(S)
    obs_done[0] = 3.0  # skill 0 is done when obs[0] > 0
    g = Subgoal("language", SKILLS[0])
    p_done = clf.success_probability({"observation": obs_done}, g)
    p_not = clf.success_probability({"observation": -obs_done}, g)
    assert isinstance(p_done, float) and 0 <= p_not < 0.5 < p_done <= 1
    det = LearnedCompletion(clf, threshold=0.5)
    assert det.done({"observation": obs_done}, g, {}) and not det.done({"observation": -obs_done}, g, {})
    with pytest.raises(TypeError, match="language"):
        clf.success_probability({"observation": obs_done}, Subgoal("state", np.zeros(3)))
    (d / "weights.safetensors").write_bytes(b"junk")
    with pytest.raises(InputError, match=r"weights\.safetensors"):
        CompletionNet.load(d)
