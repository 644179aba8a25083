"""With the real frozen MiniLM encoder (slow: loads sentence-transformers)."""
import time

import numpy as np
import pytest

from hirl.encoders.commands import CommandFeaturizer
from hirl.encoders.text_factory import text_embeddings
from hirl.policies.high import LanguageGoalNet, LanguageHighLevel, LanguageHLConfig
from hirl.policies.low import BCConfig, BCLowLevel, GoalConditionedBC
from hirl.types import Command, Subgoal

from .helpers import CHAINS, S, SKILLS, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm():
    from hirl.encoders import MiniLMEncoder

    return MiniLMEncoder()


def test_language_high_level_ranks_real_paraphrases(minilm):
    rng = np.random.default_rng(0)
    feats = CommandFeaturizer(minilm)
    n = 2048
    chain_idx = rng.integers(0, len(CHAINS), n)
    pos = np.array([rng.integers(0, len(CHAINS[c])) for c in chain_idx])
    emb, mask = feats.batch([[SKILLS[i] for i in CHAINS[c]] for c in chain_idx])
    data = {"obs": rng.normal(size=(n, S)).astype(np.float32), "command_emb": emb, "command_mask": mask,
            "prev_emb": text_embeddings(minilm, [SKILLS[CHAINS[c][p - 1]] if p else None
                                                 for c, p in zip(chain_idx, pos, strict=True)]),
            "target": np.array([CHAINS[c][p] for c, p in zip(chain_idx, pos, strict=True)], np.int64)}
    net = LanguageGoalNet(LanguageHLConfig(obs_dim=S, encoder_hidden=(64,), hidden=(128, 128)), SKILLS, minilm.encode(SKILLS))
    net.fit(data["obs"])
    train(net, data, steps=300)
    high = LanguageHighLevel(net, minilm, emit_any=True, extra_candidates=["pull the drawer open", "press the button"])
    obs = {"observation": np.zeros(S)}
    cmd = Command("c", (SKILLS[0], SKILLS[2]))
    scores = high.score(obs, cmd, ["press the button", "pull the drawer open", "grab the blue block"])
    assert int(np.argmax(scores)) == 1
    # the command itself may be phrased with words never seen in training
    para_cmd = Command("c", ("pull the drawer open", "press the button"))
    assert high.propose(obs, para_cmd).value in ("pull the drawer open", SKILLS[0])


def test_bc_language_latency_with_minilm(minilm):
    low = BCLowLevel(GoalConditionedBC(BCConfig(goal_kind="language", obs_dim=32)), minilm)
    goal = Subgoal("language", "open the drawer")
    obs = {"observation": np.zeros(32)}
    low.act(obs, goal)  # embeds once
    t0 = time.perf_counter()
    for _ in range(200):
        low.act(obs, goal)
    assert (time.perf_counter() - t0) / 200 < 5e-3
