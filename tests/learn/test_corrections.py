"""The corrections fine-tune's recipe on hand-built rows and tiny nets (hirl.learn.corrections): the per-row weight in
the high level's loss, the correction share and its cap, window relabelling, approved rows, held-out selection."""
import csv
import hashlib

import numpy as np
import pytest
import torch

from hirl.config import FieldError
from hirl.data.dataset import Dataset
from hirl.data.episode import Episode
from hirl.data.tables import NO_INDEX, tables_from_rows, text_tables
from hirl.encoders.commands import MAX_SUBTASKS
from hirl.encoders.text_factory import make_text_encoder
from hirl.errors import InputError
from hirl.learn.components import imitation_component
from hirl.learn.corrections import (FinetuneSpec, HighRows, approved_tables, correction_share, corrected_steps,
                                    correctable_levels, finetune_high, high_rows, split_holdout, window_steps)
from hirl.learn.imitation import train_component
from hirl.learn.imitation_data import Family, GatherSampler, MixedSampler
from hirl.learn.run_config import RunConfig, TrainingBudgets
from hirl.learn.trainer import TrainerConfig
from hirl.policies.high.language import LanguageGoalNet, LanguageHLConfig
from hirl.runs import RunDir

KEYS = ("observation",)
VOCAB = ["close the drawer", "open the drawer"]
COMMAND = "open the drawer, then close the drawer"
E = 32  # hash text embedding size of these tests


def tiny_net() -> LanguageGoalNet:
    torch.manual_seed(0)
    cfg = LanguageHLConfig(obs_dim=3, text_dim=8, obs_feat=8, cmd_dim=8, encoder_hidden=(8,), hidden=(8,))
    return LanguageGoalNet(cfg, ["a", "b", "c"], np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32))


def batch(weight=None):
    rng = np.random.default_rng(1)
    b = {"obs": torch.from_numpy(rng.normal(size=(4, 3)).astype(np.float32)),
         "command_emb": torch.from_numpy(rng.normal(size=(4, 2, 8)).astype(np.float32)),
         "command_mask": torch.ones(4, 2), "prev_emb": torch.zeros(4, 8), "target": torch.tensor([0, 1, 2, 0])}
    if weight is not None:
        b["weight"] = torch.tensor(weight, dtype=torch.float32)
    return b


def test_the_weight_of_a_row_weighs_its_cross_entropy_in_the_loss():
    net = tiny_net()
    with torch.no_grad():
        b = batch()
        per_row = torch.nn.functional.cross_entropy(net(b["obs"], b["command_emb"], b["command_mask"], b["prev_emb"]),
                                                    b["target"], reduction="none")
        plain = net.loss(b)[0]
        assert torch.allclose(net.loss(batch([1.0, 1.0, 1.0, 1.0]))[0], plain, atol=1e-6)  # weight 1: unchanged
        assert torch.allclose(net.loss(batch([2.0, 2.0, 2.0, 2.0]))[0], plain, atol=1e-6)  # a weighted mean
        only_first = net.loss(batch([1.0, 0.0, 0.0, 0.0]))[0]
        assert torch.allclose(only_first, per_row[0], atol=1e-6)  # weight 0: the row does not count
        up = net.loss(batch([3.0, 1.0, 1.0, 1.0]))[0]
        assert torch.allclose(up, (3 * per_row[0] + per_row[1:].sum()) / 6, atol=1e-6)
        assert (up - plain) * (per_row[0] - plain) > 0  # weighting a row up moves the loss towards its own


def test_the_correction_share_is_capped_by_the_distinct_corrected_states():
    spec = FinetuneSpec(max_share=0.1, share_states=500)
    assert correction_share(22, spec) == pytest.approx(0.044)
    assert correction_share(50, spec) == pytest.approx(0.1) and correction_share(400, spec) == pytest.approx(0.1)
    assert correction_share(0, spec) == 0.0
    with pytest.raises(FieldError, match="max_share"):
        FinetuneSpec(max_share=1.0)
    with pytest.raises(FieldError, match="mode"):
        FinetuneSpec(mode="restart")


def test_the_mixed_sampler_draws_each_pool_its_share_with_each_family_s_weight():
    def family(name, n, weight, pool):
        return Family(name, GatherSampler({"x": np.full(n, len(name), np.float32)}, {}, 8), weight, pool)

    share = correction_share(22, FinetuneSpec())  # 0.044 of 256 rows: 11
    sampler = MixedSampler([family("corr", 5, 2.0, 0), family("window", 50, 0.5, 0), family("demos", 1000, 1.0, 1)],
                           [share, 1 - share], 256)
    rng = np.random.default_rng(0)
    for step in range(20):
        b = sampler(step, rng)
        w = b["weight"].numpy()
        assert len(w) == 256 and ((w == 2.0) | (w == 0.5)).sum() == 11 and (w == 1.0).sum() == 245
        assert np.array_equal(b["x"].numpy() == 5, w == 1.0)  # every row carries its own family's weight


def record(episode, step, skill="open the drawer", proposed="close the drawer", context=5):
    rng = np.random.default_rng(100 * episode + step)
    return {"id": f"e{episode}-s{step}", "episode": episode, "step": step, "command": COMMAND, "skill": skill,
            "previous": None, "proposed": proposed, "obs": rng.normal(size=3).tolist(), "obs_keys": list(KEYS),
            "context": [[float(step - context + i)] * 3 for i in range(context)]}


def test_the_window_is_the_k_steps_before_the_correction_relabelled_with_the_corrected_skill():
    r = record(0, 40, context=5)  # context rows hold [35]*3 .. [39]*3, oldest first
    steps = window_steps([r], KEYS, 2, k=3)
    assert sorted({float(s.obs[0]) for s in steps}) == [37.0, 38.0, 39.0]  # the last 3 steps before step 40
    assert all(s.expert_goal.text == "open the drawer" for s in steps)
    assert {None if s.previous is None else s.previous.text for s in steps} == {None, "close the drawer"}  # two memories
    assert window_steps([r], KEYS, 2, k=0) == []
    assert len(window_steps([r], KEYS, 2, k=10)) == 2 * 5  # fewer journaled: all of them
    corrected = corrected_steps([r], KEYS, 2)
    assert len(corrected) == 2 and np.allclose(corrected[0].obs, r["obs"])  # the corrected state is not in the window
    rows = high_rows([r], None, demo_tables(), KEYS, FinetuneSpec(context_steps=3, holdout=0.0))
    assert rows.window is not None and sorted(set(rows.window.obs[:, 0].tolist())) == [37.0, 38.0, 39.0]
    assert set(rows.window.label.tolist()) == {VOCAB.index("open the drawer")}
    assert rows.corrected is not None and len(rows.corrected.obs) == 2 and rows.states == 1


def episode(index, segments):
    """An episode of segments (text, source, reason, steps); observation t = [index, t, 0]."""
    text, source, reason = [], [], []
    for seg_text, seg_source, seg_reason, n in segments:
        text += [seg_text] * n
        source += [seg_source] * n
        reason += [seg_reason] + [""] * (n - 1)
    T = len(text)
    starts = np.cumsum([0] + [s[3] for s in segments[:-1]]).astype(np.int64)
    obs = np.array([[index, t, 0.0] for t in range(T + 1)], np.float64)
    return Episode(index=index, seed=0, observations={"observation": obs}, actions=np.zeros((T, 2)),
                   rewards=np.zeros(T), terminations=np.zeros(T, bool), truncations=np.zeros(T, bool),
                   subgoal_text=np.array(text, object), subgoal_source=np.array(source, object),
                   subgoal_reason=np.array(reason, object),
                   segment=np.repeat(np.arange(len(segments)), [s[3] for s in segments]),
                   intervention=np.array([r == "override" for r in reason]), is_success=np.zeros(T + 1, bool),
                   subgoal_state=None, predicates=None, seg_start=starts, seg_end=np.append(starts[1:], T),
                   seg_goal_state=np.zeros((len(segments), 3)), frames=None, frame_steps=None, command=COMMAND,
                   success=False, task=[])


def test_approved_rows_come_from_the_uncorrected_segments_of_the_high_level_only():
    ds = Dataset([episode(0, [("open the drawer", "policy", "start", 4),      # approved: ran without a correction
                              ("open the drawer", "policy", "timeout", 3),    # corrected: the next one is an override
                              ("close the drawer", "human", "override", 3),   # the person's subgoal, not a decision
                              ("push the button", "policy", "completion", 2)]),  # outside the vocabulary: dropped
                  episode(1, [("close the drawer", "policy", "start", 5)])], {}, obs_keys=KEYS)
    t = approved_tables(ds, VOCAB, KEYS)
    assert t is not None
    assert [tuple(o[:2]) for o in t.obs] == [(0, 0), (0, 1), (0, 2), (0, 3)] + [(1, s) for s in range(5)]
    assert t.label.tolist() == [VOCAB.index("open the drawer")] * 4 + [VOCAB.index("close the drawer")] * 5
    assert set(t.prev_label.tolist()) == {NO_INDEX}  # both are the first segments of their episodes
    held = approved_tables(ds, VOCAB, KEYS, exclude=[1])  # a held-out episode gives no approved rows
    assert held is not None and set(held.obs[:, 0].tolist()) == {0.0}
    assert approved_tables(ds, VOCAB, KEYS, exclude=[0, 1]) is None


def test_held_out_episodes_are_every_kth_corrected_episode_and_stay_so():
    records = [record(e, 10) for e in (0, 2, 3, 7, 8)] + [record(3, 20)]
    fit, held = split_holdout(records, 0.5)
    assert held == [2, 7] and {r["episode"] for r in fit} == {0, 3, 8}
    assert split_holdout([*records, record(9, 5)], 0.5)[1] == [2, 7, 9]  # more episodes: the earlier ones stay held out
    assert split_holdout(records, 0.0)[1] == [] and split_holdout(records[:1], 0.2)[1] == []


def test_language_and_state_hierarchies_are_correctable_the_others_are_refused_in_one_line():
    assert [c.name for c in correctable_levels("hier_language")] == ["low_language", "high_language"]
    assert [c.name for c in correctable_levels("hier_state")] == ["low_state", "high_state"]
    refusals = {"flat": "not a two-level learned hierarchy", "rl_hier": "not a two-level learned hierarchy",
                "hier_image": "uses image subgoals", "hier_state_ahead": "aims subgoals.horizon steps ahead"}
    for agent, why in refusals.items():
        with pytest.raises(InputError, match=why) as err:
            correctable_levels(agent)
        assert "\n" not in str(err.value) and repr(agent) in str(err.value)
    with pytest.raises(InputError, match=r"reads the chain's progress \(networks.high_state.progress\)"):
        correctable_levels("hier_state", {"high_state": {"progress": True}})


# ------------------------------------------------------------------------------------------ held-out selection
def demo_tables(n=64):
    """Demonstrations: observation [x, x, x], 'open the drawer' for x < 0, 'close the drawer' after."""
    x = np.linspace(-1, 1, n, dtype=np.float32)
    label = (x >= 0).astype(np.int64)  # VOCAB is sorted: 0 close, 1 open
    label = 1 - label
    return tables_from_rows(obs=np.stack([x, x, x], 1), action=np.zeros((n, 2), np.float32), label=label,
                            prev_label=np.full(n, NO_INDEX, np.int64), command=np.zeros(n, np.int64),
                            goal_state=np.zeros((n, 3), np.float32), prev_goal_state=np.zeros((n, 3), np.float32),
                            vocab=list(VOCAB), commands=[COMMAND])


def session(tmp_path, encoder):
    """A session folder holding a high level fitted to the demonstrations (a few steps), and the run config."""
    t = demo_tables()
    component = imitation_component("high_language")
    tt = text_tables(t, encoder, MAX_SUBTASKS)
    net = component.build(t, tt, "hash", KEYS)
    tiny = TrainerConfig(max_steps=40, batch_size=32, lr=3e-3, progress=False, tensorboard=False)
    train_component(component, net, (t, tt), None, tiny, RunDir(tmp_path), stage="base")  # saved as the adapted one
    cfg = RunConfig(dataset=str(tmp_path / "none"), agents=["hier_language"], obs_keys=list(KEYS), text_encoder="hash",
                    train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny))
    return cfg, (t, tt)


def val_losses(tmp_path, stage):
    with open(RunDir(tmp_path).train_dir("high_language", stage) / "metrics.csv") as f:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(f) if r["split"] == "val"}


def digest(tmp_path):
    return hashlib.sha256((RunDir(tmp_path).model_dir("high_language", adapted=True) / "weights.safetensors")
                          .read_bytes()).hexdigest()


@pytest.mark.parametrize("held_skill, train_skill, helps", [("close the drawer", "close the drawer", True),
                                                            ("open the drawer", "close the drawer", False)])
def test_held_out_selection_keeps_the_best_checkpoint_or_the_base(tmp_path, held_skill, train_skill, helps):
    """Corrections at states x < 0, where the demonstrations (and the base high level fitted to them) say 'open': the
    held-out episode corrects to held_skill, the training episodes to train_skill. Both 'close': fine-tuning lowers
    the held-out loss and the best checkpoint is kept; the held-out one agreeing with the base: every checkpoint is
    worse than the weights before and those stay, byte for byte."""
    encoder = make_text_encoder("hash", E)
    cfg, train = session(tmp_path, encoder)
    records = [record(e, s, skill=train_skill if e != 1 else held_skill) | {"obs": [-0.5 - 0.01 * s] * 3}
               for e in (0, 1, 2) for s in range(0, 40, 4)]
    spec = FinetuneSpec(steps=30, lr=3e-3, batch_size=32, max_share=0.9, share_states=1, holdout=0.5, select_every=5,
                        w_approved=0.0, context_steps=0)
    rows = high_rows(records, None, train[0], KEYS, spec)
    assert rows.heldout_episodes == [1] and rows.heldout is not None and rows.states == 20
    before = digest(tmp_path)
    fit = finetune_high(tmp_path, cfg, "hier_language", rows, train, encoder, spec, stage="t")
    held = fit["heldout"]
    losses = val_losses(tmp_path, "t")
    assert sorted(losses) == [5, 10, 15, 20, 25, 30]  # the checkpoints compared, besides the base (step 0)
    assert fit["share"] == pytest.approx(0.9) and fit["rows"]["corrected"] == 40 and fit["rows"]["window"] == 0
    best = min(losses, key=losses.__getitem__)
    if helps:
        assert losses[best] < held["base"]["loss"] and held["selected_step"] == best == fit["best_step"]
        assert held["selected"]["loss"] == pytest.approx(losses[best], abs=1e-5) and digest(tmp_path) != before
    else:
        assert min(losses.values()) > held["base"]["loss"]
        assert held["selected_step"] == 0 and held["selected"] == held["base"] and digest(tmp_path) == before


def test_aggregate_mode_retrains_a_fresh_high_level_with_the_run_budget(tmp_path):
    encoder = make_text_encoder("hash", E)
    cfg, train = session(tmp_path, encoder)
    records = [record(e, 10) for e in (0, 2)]
    spec = FinetuneSpec(mode="aggregate", batch_size=16, holdout=0.0)
    fit = finetune_high(tmp_path, cfg, "hier_language", high_rows(records, None, train[0], KEYS, spec), train, encoder,
                        spec, stage="agg")
    assert fit["mode"] == "aggregate" and fit["steps"] == cfg.train.high.max_steps == 40 and "heldout" not in fit
    assert fit["rows"] == {"demos": 64, "approved": 0, "corrected": 4, "window": 20, "redo": 0}


def test_no_rows_but_extra_demonstrations_fine_tunes_on_the_demonstrations(tmp_path):
    encoder = make_text_encoder("hash", E)
    cfg, train = session(tmp_path, encoder)
    fit = finetune_high(tmp_path, cfg, "hier_language", HighRows(None, None, None, None, 0, []), train, encoder,
                        FinetuneSpec(steps=3, batch_size=16), stage="demos", extra_demos=demo_tables(8))
    assert fit["share"] == 0.0 and fit["original_rows"] == 72 and fit["correction_rows"] == 0 and fit["steps"] == 3
