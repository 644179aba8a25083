import numpy as np
import pytest
import torch

from hirl.errors import InputError
from hirl.policies.high import LanguageGoalNet, LanguageHighLevel, LanguageHLConfig
from hirl.types import Command, Subgoal

from .helpers import CHAINS, E, S, SKILLS, chain_data, encoder, to_batch, train

KEYS = ("obs", "command_emb", "command_mask", "prev_emb", "target")


def make() -> LanguageGoalNet:
    cfg = LanguageHLConfig(obs_dim=S, text_dim=E, text_encoder="hash", obs_feat=32, cmd_dim=64, encoder_hidden=(64,),
                           hidden=(128, 128))
    return LanguageGoalNet(cfg, candidates=SKILLS, candidate_embs=encoder().encode(SKILLS))


@pytest.fixture(scope="module")
def trained():
    data = chain_data(2048)
    net = make().fit(data["obs"])
    first, last = train(net, {k: data[k] for k in KEYS}, steps=300)
    return net, data, first, last


def test_shapes_and_loss_decreases(trained):
    net, data, first, last = trained
    assert last < 0.3 * first, (first, last)
    b = to_batch({k: data[k][:7] for k in KEYS})
    assert net(b["obs"], b["command_emb"], b["command_mask"], b["prev_emb"]).shape == (7, len(SKILLS))
    held_out = chain_data(256, seed=1)
    hb = to_batch({k: held_out[k] for k in KEYS})
    with torch.no_grad():
        acc = (net(hb["obs"], hb["command_emb"], hb["command_mask"], hb["prev_emb"]).argmax(-1) == hb["target"]).float().mean()
    assert acc > 0.95


def test_propose_walks_the_chain_and_reset_clears_memory(trained):
    net = trained[0]
    high = LanguageHighLevel(net, encoder())
    obs = {"observation": np.zeros(S)}
    for chain in CHAINS[:3]:
        cmd = Command(", then ".join(SKILLS[i] for i in chain), tuple(SKILLS[i] for i in chain))
        high.reset()
        got = [high.propose(obs, cmd) for _ in chain]
        assert all(isinstance(g, Subgoal) and g.kind == "language" for g in got)
        assert [g.value for g in got] == [SKILLS[i] for i in chain]
    high.reset()
    assert high.propose(obs, cmd).value == SKILLS[chain[0]]
    high.observe(Subgoal("language", SKILLS[chain[1]], "human"))  # a correction moves the memory
    assert high.propose(obs, cmd).value == SKILLS[chain[2]]


def test_score_and_emit_any_handle_new_instructions(trained):
    net = trained[0]
    obs = {"observation": np.zeros(S)}
    cmd = Command("c", (SKILLS[0], SKILLS[2]))
    high = LanguageHighLevel(net, encoder())
    scores = high.score(obs, cmd, ["push the button", "please open the drawer now", "pick up the red block"])
    assert int(np.argmax(scores)) == 1  # the paraphrase-like candidate of the right subtask ranks first
    # A subtask never seen in training: only emit_any can return it; the pointer into the command finds it.
    novel = "wipe the table clean"
    cmd2 = Command("c2", (novel, SKILLS[2]))
    closed = LanguageHighLevel(net, encoder())
    assert closed.propose(obs, cmd2).value in SKILLS
    open_ = LanguageHighLevel(net, encoder(), emit_any=True, extra_candidates=[novel, "stack the blocks"])
    assert open_.propose(obs, cmd2).value == novel
    assert open_.propose(obs, cmd2).value == SKILLS[2]
    with pytest.raises(ValueError, match="emit_any"):
        LanguageHighLevel(net, encoder(), extra_candidates=[novel])


def test_roundtrip_registry_and_corrupt(trained, tmp_path):
    net, data = trained[0], trained[1]
    d = net.save(tmp_path / "hl")
    loaded = LanguageGoalNet.load(d)
    assert loaded.candidates == SKILLS
    b = to_batch({k: data[k][:16] for k in KEYS})
    with torch.no_grad():
        assert torch.equal(net(b["obs"], b["command_emb"], b["command_mask"], b["prev_emb"]),
                           loaded(b["obs"], b["command_emb"], b["command_mask"], b["prev_emb"]))
    high = LanguageHighLevel(d, text_encoder=encoder())
    assert isinstance(high, LanguageHighLevel)
    raw = (d / "weights.safetensors").read_bytes()
    (d / "weights.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match=r"weights\.safetensors"):
        LanguageGoalNet.load(d)


def test_wrong_encoder_dim_is_rejected(trained):
    from hirl.encoders import HashTextEncoder

    with pytest.raises(ValueError, match="-d"):
        LanguageHighLevel(trained[0], HashTextEncoder(dim=32))


def test_a_completed_instruction_is_not_proposed_again_at_once(trained):
    high = LanguageHighLevel(trained[0], encoder())
    obs = {"observation": np.zeros(S)}
    cmd = Command(", then ".join(SKILLS[i] for i in CHAINS[0]), tuple(SKILLS[i] for i in CHAINS[0]))
    best = high.propose(obs, cmd).value
    high.reset()
    high.completed(Subgoal("language", best, "policy"))  # the replan rule judged it done
    again = high.propose(obs, cmd)
    assert again.value != best and high.last_logits[high.candidates.index(best)] == -np.inf
    high.reset()
    assert high.propose(obs, cmd).value == best and np.isfinite(high.last_logits).all()  # one proposal only
