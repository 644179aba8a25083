"""A state hierarchy's rows from a session's takeovers (hirl.learn.corrections_state), on a hand-built episode: the
low level's rows are the person's (o_t, a_t) with the goal reached at the takeover's end, the high level's the state
where it began and the window before it with that goal and two memories; held-out episodes; refusals. And the per-row
weight of the state high level's loss."""
import numpy as np
import pytest
import torch

from hirl.data.dataset import Dataset
from hirl.data.episode import Episode
from hirl.data.tables import NO_INDEX, achieved_now, tables_from_rows
from hirl.errors import InputError
from hirl.learn.corrections import FinetuneSpec
from hirl.learn.corrections_state import state_high_rows, state_low_tables
from hirl.policies.high.state import StateGoalNet, StateHLConfig

KEYS = ("observation",)
G = 2  # goal size of these tests
COMMAND = "open the drawer, then close the drawer"


def episode(index, T=30, seg_starts=(0, 10, 20)):
    """observation t = [index, t, 0]; achieved goal t = [t, -t]; the high level's subgoal at t = [100 + segment, 0]."""
    starts = np.array(seg_starts, np.int64)
    segment = np.searchsorted(starts, np.arange(T), side="right") - 1
    ends = np.append(starts[1:], T)
    achieved = np.array([[t, -t] for t in range(T + 1)], np.float64)
    return Episode(index=index, seed=0,
                   observations={"observation": np.array([[index, t, 0.0] for t in range(T + 1)]), "achieved_goal": achieved},
                   actions=np.zeros((T, 2)), rewards=np.zeros(T), terminations=np.zeros(T, bool),
                   truncations=np.zeros(T, bool), subgoal_text=np.array(["state"] * T, object),
                   subgoal_source=np.array(["policy"] * T, object), subgoal_reason=np.array([""] * T, object),
                   segment=segment, intervention=np.zeros(T, bool), is_success=np.zeros(T + 1, bool),
                   subgoal_state=np.array([[100.0 + s, 0.0] for s in segment]), predicates=None, seg_start=starts,
                   seg_end=ends, seg_goal_state=achieved[ends], frames=None, frame_steps=None, command=COMMAND,
                   success=False, task=[])


def takeover(ep, start, end, record_id=None):
    """A takeover journal record: the person drove steps start..end-1 with actions [t, 1]."""
    return {"id": record_id or f"e{ep}-t{start}", "kind": "takeover", "episode": ep, "start": start, "end": end,
            "skill": "open the drawer", "command": COMMAND, "obs_keys": list(KEYS),
            "obs": [[ep, t, 0.0] for t in range(start, end)], "actions": [[float(t), 1.0] for t in range(start, end)]}


def demos(n=8):
    """Demonstration tables over the vocabulary ["close the drawer", "open the drawer"] (G = 2, A = 2)."""
    return tables_from_rows(obs=np.zeros((n, 3), np.float32), action=np.zeros((n, 2), np.float32),
                            label=np.zeros(n, np.int64), prev_label=np.full(n, NO_INDEX, np.int64),
                            command=np.zeros(n, np.int64), goal_state=np.zeros((n, G), np.float32),
                            prev_goal_state=np.zeros((n, G), np.float32),
                            vocab=["close the drawer", "open the drawer"], commands=[COMMAND])


def test_the_low_level_learns_the_person_s_actions_towards_the_goal_the_takeover_reached():
    ds = Dataset([episode(0), episode(1)], {}, obs_keys=KEYS)
    t = state_low_tables([takeover(0, 12, 16), takeover(5, 3, 6)], ds, demos(), KEYS)  # episode 5 was never stored
    assert t.obs[:, 1].tolist() == [12, 13, 14, 15] and t.action[:, 0].tolist() == [12, 13, 14, 15]
    assert np.array_equal(t.goal_state, np.tile([16.0, -16.0], (4, 1)))  # the achieved goal of o_t1 (after a_t1-1)
    assert np.array_equal(achieved_now(t), [[s, -s] for s in (12, 13, 14, 15)])  # each row's own achieved goal


def test_the_high_level_learns_the_reached_goal_where_the_takeover_began_and_in_the_window_before():
    ds = Dataset([episode(0)], {}, obs_keys=KEYS)
    spec = FinetuneSpec(context_steps=4, holdout=0.0)
    rows = state_high_rows([takeover(0, 12, 16)], ds, demos(), KEYS, spec)
    assert rows.corrected is not None and rows.window is not None and rows.approved is None and rows.states == 1
    assert rows.corrected.obs[:, 1].tolist() == [12, 12]  # o_t0, once per memory
    memories = {tuple(m) for m in rows.corrected.prev_goal_state.tolist()}
    assert memories == {(10.0, -10.0), (101.0, 0.0)}  # where the segment began; the subgoal active at t0
    assert sorted(set(rows.window.obs[:, 1].tolist())) == [10, 11]  # K = 4, but t0's segment began at 10
    for t in (rows.corrected, rows.window):
        assert np.array_equal(t.goal_state, np.tile([16.0, -16.0], (len(t.obs), 1)))
    first = state_high_rows([takeover(0, 3, 5)], ds, demos(), KEYS, spec)  # in the first segment: zeros remembered
    assert first.corrected is not None and {tuple(m) for m in first.corrected.prev_goal_state.tolist()} == {
        (0.0, 0.0), (100.0, 0.0)}
    assert first.window is not None and sorted(set(first.window.obs[:, 1].tolist())) == [0, 1, 2]


def test_held_out_episodes_choose_the_checkpoint_and_do_not_train_the_high_level():
    ds = Dataset([episode(e) for e in range(4)], {}, obs_keys=KEYS)
    records = [takeover(e, 12, 16) for e in range(4)]
    rows = state_high_rows(records, ds, demos(), KEYS, FinetuneSpec(context_steps=0, holdout=0.5))
    assert rows.heldout_episodes == [1, 3] and rows.window is None and rows.states == 2
    assert rows.corrected is not None and set(rows.corrected.obs[:, 0].tolist()) == {0.0, 2.0}
    assert rows.heldout is not None and set(rows.heldout.obs[:, 0].tolist()) == {1.0, 3.0}
    low = state_low_tables(records, ds, demos(), KEYS)  # every takeover trains the low level
    assert set(low.obs[:, 0].tolist()) == {0.0, 1.0, 2.0, 3.0}


def test_a_takeover_that_does_not_fit_its_episode_is_refused_in_one_line():
    ds = Dataset([episode(0, T=30)], {}, obs_keys=KEYS)
    with pytest.raises(InputError, match=r"takeover e0-t25: steps 25..35 \(10 actions\) do not fit its episode 0 "
                                         r"\(30 steps\)"):
        state_low_tables([takeover(0, 25, 35)], ds, demos(), KEYS)
    with pytest.raises(InputError, match="recorded with obs_keys"):
        state_low_tables([takeover(0, 2, 4) | {"obs_keys": ["touch"]}], ds, demos(), KEYS)
    wide = tables_from_rows(obs=np.zeros((1, 3), np.float32), action=np.zeros((1, 2), np.float32),
                            label=np.zeros(1, np.int64), prev_label=np.zeros(1, np.int64), command=np.zeros(1, np.int64),
                            goal_state=np.zeros((1, 5), np.float32), prev_goal_state=np.zeros((1, 5), np.float32),
                            vocab=["a"], commands=[COMMAND])
    with pytest.raises(InputError, match="achieved goals have 2 entries, the state levels' goals 5"):
        state_low_tables([takeover(0, 2, 4)], ds, wide, KEYS)


def test_the_weight_of_a_row_weighs_its_squared_error_in_the_state_high_level_s_loss():
    torch.manual_seed(0)
    cfg = StateHLConfig(obs_dim=3, goal_dim=G, text_dim=8, obs_feat=8, cmd_dim=8, encoder_hidden=(8,), hidden=(8,),
                        head_hidden=(8,))
    rng = np.random.default_rng(0)
    net = StateGoalNet(cfg).fit(rng.normal(size=(16, 3)), rng.normal(size=(16, G)))
    b = {"obs": torch.randn(4, 3), "command_emb": torch.randn(4, 2, 8), "command_mask": torch.ones(4, 2),
         "prev_state": torch.zeros(4, G), "target_state": torch.randn(4, G)}
    with torch.no_grad():
        plain = net.loss(b)[0]
        assert torch.allclose(net.loss({**b, "weight": torch.full((4,), 2.0)})[0], plain, atol=1e-6)
        alone = net.loss({k: v[:1] for k, v in b.items()})[0]
        assert torch.allclose(net.loss({**b, "weight": torch.tensor([1.0, 0.0, 0.0, 0.0])})[0], alone, atol=1e-6)
        assert not torch.allclose(alone, plain)
