"""The imitation pipeline on a tiny Tabletop dataset: step tables against the episodes they came from, table
concatenation, expert labelling during adapt, and train -> adapt -> eval end to end (hash text encoder,
a few optimizer steps: this checks the plumbing, the benchmarks measure the learning)."""
import json

import numpy as np
import pytest

from hirl.data import load_dataset
from hirl.data.collect import collect
from hirl.data.collect_config import CollectConfig
from hirl.data.tables import NO_INDEX, build_tables, concat_tables, text_tables
from hirl.eval.evaluate import evaluate_run
from hirl.hierarchy import FixedInterval, HierarchicalAgent
from hirl.integrations import adapter
from hirl.learn.adapt import ExpertLabeller, labelled_tables
from hirl.runs import RunDir
from hirl.runs.agents import component
from hirl.learn.run import train_run
from hirl.learn.run_config import RunConfig
from hirl.learn.trainer import TrainerConfig
from hirl.learn.run_config import AdaptSpec, CollectSpec, EvalSpec, TrainingBudgets
from hirl.hierarchy.rollout import run_episode
from hirl.encoders.text_factory import make_text_encoder
from hirl.policies.obs import DEFAULT_OBS_KEYS


@pytest.fixture(scope="module")
def tabletop(tmp_path_factory):
    path = tmp_path_factory.mktemp("tt") / "data"
    collect(CollectConfig(env="hirl/Tabletop-v0", episodes=4, workers=1, seed=3, chain_length=2), path, progress=False)
    return path


def test_step_tables_follow_the_segments(tabletop):
    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    t = build_tables(ds, DEFAULT_OBS_KEYS)
    assert len(t.obs) == sum(e.T for e in ds.episodes) and t.obs.shape[1] == ds.episodes[0].flat_obs(DEFAULT_OBS_KEYS).shape[1]
    offset = 0
    for e in ds.episodes:  # brute force: the active segment's text and the one before it, step by step
        texts = [str(e.subgoal_text[s]) for s in e.seg_start]
        for step in range(e.T):
            j = max(i for i, s in enumerate(e.seg_start) if s <= step)
            assert t.vocab[t.label[offset + step]] == texts[j]
            assert t.prev_label[offset + step] == (NO_INDEX if j == 0 else t.vocab.index(texts[j - 1]))
            assert t.commands[t.command[offset + step]] == e.command
        np.testing.assert_allclose(t.action[offset:offset + e.T], e.actions.reshape(e.T, -1), rtol=1e-6)
        offset += e.T


def test_concat_tables_remaps_commands(tabletop):
    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    a = build_tables(ds, DEFAULT_OBS_KEYS)
    b = build_tables(ds, DEFAULT_OBS_KEYS)
    b.commands = ["a command only b has", *b.commands]  # shift b's command indices by one
    b.command = b.command + 1
    m = concat_tables(a, b)
    assert len(m.obs) == 2 * len(a.obs) and m.commands[: len(a.commands)] == a.commands
    assert [m.commands[i] for i in m.command[len(a.obs):]] == [b.commands[i] for i in b.command]
    sampler = component("high_language").sampler(m, text_tables(m, make_text_encoder("hash", 384), 5), 16)
    batch = sampler(0, np.random.default_rng(0))
    assert batch["command_emb"].shape == (16, 5, 384)


def test_expert_labeller_agrees_with_the_expert_it_wraps():
    """With the scripted expert itself as the learner (re-asked every step), every label equals what was done."""
    ad = adapter("hirl/Tabletop-v0")
    env = ad.make()
    learner = HierarchicalAgent(*ad.expert(env, 0.0, 0), FixedInterval(1))
    labeller = ExpertLabeller(learner, *ad.expert(env, 0.0, 0))
    executed = []
    run_episode(env, labeller, ad.command, seed=7, options=ad.reset_options(2),
                on_transition=lambda t, agent, obs, action, *rest: executed.append(action))
    assert len(labeller.steps) == len(executed) > 20
    vocab = sorted({str(s.expert_goal.value) for s in labeller.steps})
    low, high = labelled_tables(labeller.steps, vocab, 14, "language")
    np.testing.assert_allclose(low.action, np.stack(executed), atol=1e-6)
    np.testing.assert_array_equal(low.label, high.label)
    assert high.prev_label[0] == NO_INDEX and (high.prev_label[1:] == high.label[:-1]).all()


def test_train_adapt_eval_end_to_end(tabletop, tmp_path):
    tiny = TrainerConfig(max_steps=12, batch_size=32, eval_every=6, checkpoint_every=6, progress=False, tensorboard=False)
    cfg = RunConfig(
        dataset=str(tabletop), collect=CollectSpec(episodes=4, chain_length=2, seed=3), agents=["hier_language", "flat"],
        text_encoder="hash", val_fraction=0.25, train=TrainingBudgets(low=tiny, high=tiny, baseline=tiny, image=tiny),
        adapt=AdaptSpec(enabled=True, rounds=1, episodes=1, steps=5),
        eval=EvalSpec(episodes=1, chain_length=1, videos=1, frame_every=25, video_size=32),
    )
    run = tmp_path / "run"
    summary = train_run(cfg, RunDir(run), progress=False)
    assert set(summary["components"]) == {"low_language", "high_language", "flat"}
    for c in ("low_language", "high_language", "flat"):
        assert (run / "models" / c / "weights.safetensors").is_file()
    rounds = summary["adapt"]["hier_language"]
    assert len(rounds) == 1 and rounds[0]["labelled_steps"] > 0
    assert set(rounds[0]["components"]) == {"low_language", "high_language"}
    assert (run / "models" / "adapted" / "low_language" / "weights.safetensors").is_file()
    report = evaluate_run(run, out=tmp_path / "eval", cfg=cfg)
    assert set(report["policies"]) == {"hier_language", "flat", "hier_language+adapt"}
    for m in report["policies"].values():
        assert m["episodes"] == 1 and m["success_rate"] == m["avg_chain_length"]  # a 1-subtask chain: success iff completed
    assert json.loads((tmp_path / "eval" / "report.json").read_text())["run_dir"] == str(run.resolve())
    assert (tmp_path / "eval" / "chain_success.png").is_file() and list((tmp_path / "eval" / "videos").glob("*.mp4"))
    refs = evaluate_run(run, ["expert", "oracle_high", "oracle_high_paraphrase+adapt"], out=tmp_path / "refs", cfg=cfg)
    assert refs["policies"]["expert"]["success_rate"] == 1.0  # the noise-free expert solves a 1-subtask chain
    assert set(refs["policies"]) == {"expert", "oracle_high", "oracle_high_paraphrase+adapt"}


def test_unknown_agent_names_fail_in_one_line():
    from hirl.runs import parse_agent_name
    from hirl.errors import InputError

    assert parse_agent_name("hier_state+adapt") == ("hier_state", True)
    for bad in ("hier_langauge", "expert+adapt", "+adapt"):
        with pytest.raises(InputError, match="unknown agent"):
            parse_agent_name(bad)


def test_paraphrase_sampler_swaps_goal_texts_for_training_paraphrases(tabletop):
    ds = load_dataset(tabletop, obs_keys=DEFAULT_OBS_KEYS)
    t = build_tables(ds, DEFAULT_OBS_KEYS)
    enc = make_text_encoder("hash", 384)
    ad = adapter("hirl/Tabletop-v0")
    tt = text_tables(t, enc, 5, lambda text: ad.paraphrase_split(text)[0])
    heldout = {v: ad.paraphrase_split(v)[1] for v in t.vocab}
    assert all(len(h) == 1 and h[0] not in ad.paraphrase_split(v)[0] for v, h in heldout.items())
    sampler = component("low_language").sampler(t, tt, 512, paraphrase_p=0.5)
    rng = np.random.default_rng(0)
    batch = sampler(0, rng)
    goal = batch["goal_emb"].numpy()
    canonical = np.isclose(goal, tt.vocab_emb[batch["goal"].numpy()]).all(1)
    assert 0.35 < 1 - canonical.mean() < 0.65  # about half swapped
    allowed = {tuple(np.round(e, 5)) for e in tt.paraphrase_emb} | {tuple(np.round(e, 5)) for e in tt.vocab_emb}
    held = {tuple(np.round(e, 5)) for e in enc.encode([h[0] for h in heldout.values()])}
    rows = {tuple(np.round(e, 5)) for e in goal}
    assert rows <= allowed and not rows & held  # only training paraphrases, never the held-out ones
