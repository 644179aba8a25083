import numpy as np
import pytest
import torch

from hirl.encoders.commands import MAX_SUBTASKS, CommandFeaturizer, command_subtasks
from hirl.encoders.text_factory import text_embeddings
from hirl.policies.inference import SubgoalCache
from hirl.policies.nets import CommandEncoder, mlp
from hirl.policies.obs import obs_vector
from hirl.types import Command, Subgoal

from .helpers import E, encoder


def test_obs_vector_dict_and_array():
    obs = {"observation": np.arange(3, dtype=np.float64), "achieved_goal": np.ones(2)}
    v = obs_vector(obs)
    assert v.dtype == np.float32 and v.tolist() == [0, 1, 2]
    assert obs_vector(obs, ("achieved_goal", "observation")).tolist() == [1, 1, 0, 1, 2]
    assert obs_vector(np.zeros((2, 2))).shape == (4,)
    with pytest.raises(KeyError, match="desired_goal"):
        obs_vector(obs, ("desired_goal",))


def test_command_subtasks_and_featurizer():
    assert command_subtasks(Command("x", ("a b", "c"))) == ("a b", "c")
    split = command_subtasks(Command("open the drawer, then pick up the red block"))
    assert split == ("open the drawer", "pick up the red block")
    assert command_subtasks("push the button") == ("push the button",)
    feats = CommandFeaturizer(encoder())
    emb, mask = feats(Command("t", ("open the drawer", "push the button")))
    assert emb.shape == (MAX_SUBTASKS, E) and mask.tolist() == [True, True, False, False, False]
    assert np.allclose(emb[0], encoder().encode_one("open the drawer")) and not emb[2:].any()
    assert feats(Command("other text", ("open the drawer", "push the button")))[0] is emb  # cached by subtasks
    with pytest.raises(ValueError, match="subtasks"):
        feats(Command("t", tuple(f"skill {i}" for i in range(6))))
    b_emb, b_mask = feats.batch(["a then b", "c"])
    assert b_emb.shape == (2, MAX_SUBTASKS, E) and b_mask.sum(1).tolist() == [2, 1]
    prev = text_embeddings(encoder(), [None, "a"])
    assert not prev[0].any() and np.isclose(np.linalg.norm(prev[1]), 1)


def test_subgoal_cache_is_identity_keyed():
    calls = []
    cache = SubgoalCache(size=2)
    g1, g2 = Subgoal("language", "a"), Subgoal("language", "a")
    for g in (g1, g1, g2, g1):
        cache.get(g, lambda s: calls.append(s) or len(calls))
    assert len(calls) == 2


def test_mlp_and_command_encoder_shapes_and_masking():
    assert mlp(3, (8, 8), 2, layer_norm=True)(torch.zeros(5, 3)).shape == (5, 2)
    enc = CommandEncoder(E, 10, dim=16)
    emb = torch.randn(4, MAX_SUBTASKS, E)
    mask = torch.zeros(4, MAX_SUBTASKS, dtype=torch.bool)
    mask[:, :2] = True
    feat, pooled, w = enc(emb, mask, torch.randn(4, 10))
    assert feat.shape == (4, 16) and pooled.shape == (4, E) and w.shape == (4, MAX_SUBTASKS)
    assert torch.allclose(w.sum(-1), torch.ones(4)) and (w[:, 2:] == 0).all()
    emb2 = emb.clone()
    emb2[:, 2:] = 100.0  # padding content must not matter
    ctx = torch.zeros(4, 10)
    assert torch.allclose(enc(emb2, mask, ctx)[0], enc(emb, mask, ctx)[0], atol=1e-5)


def test_goal_encoders_registered_per_subgoal_kind():
    import hirl.policies.low  # noqa: F401  (registers the goal encoders)
    from hirl.registry import GOAL_ENCODERS

    assert set(GOAL_ENCODERS.names()) == {"language", "state", "image"}
