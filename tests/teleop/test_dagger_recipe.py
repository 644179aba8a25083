"""The corrections fine-tune's recipe end to end on a tiny run: the correction loop journals corrections and episodes,
then both modes build every row family from them (corrected states, windows, approved decisions) and keep the
held-out selection's weights."""
import hashlib

import pytest

from hirl.teleop.sessions.config import CorrectionLoopConfig, FinetuneSpec, ScriptedCorrectorConfig
from hirl.teleop.sessions.journal import CorrectionJournal
from hirl.teleop.sessions.loop import run_correction_loop


def _digest(path):
    return hashlib.sha256((path / "weights.safetensors").read_bytes()).hexdigest()


@pytest.mark.parametrize("mode, steps", [("continue", 4), ("aggregate", 12)])  # aggregate: the run's train.high budget
def test_both_modes_run_end_to_end_on_a_tiny_journal(tiny_run, tmp_path, mode, steps):
    out = tmp_path / mode
    spec = FinetuneSpec(mode=mode, steps=4, batch_size=32, holdout=0.5, select_every=2, context_steps=3)
    loop = CorrectionLoopConfig(episodes=[8], chain_length=2, eval_episodes=0,
                                corrector=ScriptedCorrectorConfig(reaction_steps=3), finetune=spec)
    summary = run_correction_loop(tiny_run, out, loop, progress=lambda m: None)
    records = CorrectionJournal(out / "corrections.jsonl").read()
    episodes = sorted({r["episode"] for r in records})
    assert len(episodes) >= 2  # so that one corrected episode is held out
    fit = summary["1"]["finetune"]["high"]
    assert fit["mode"] == mode and fit["steps"] == steps
    held = fit["heldout"]
    assert held["episodes"] == episodes[1::2] and held["rows"] > 0
    trained = [r for r in records if r["episode"] not in held["episodes"]]
    assert fit["distinct_states"] == len({(r["episode"], r["step"]) for r in trained}) > 0
    rows = fit["rows"]
    assert rows["corrected"] == 2 * len(trained) or rows["corrected"] == len(trained)  # one row per memory
    assert rows["window"] > 0 and rows["approved"] > 0 and rows["demos"] == fit["original_rows"]
    assert 0 < fit["share"] <= spec.max_share
    assert held["selected_step"] in [0, *range(2, steps + 1, 2)]
    adapted, before = out / "models" / "adapted" / "high_language", tiny_run / "models" / "high_language"
    assert (_digest(adapted) == _digest(before)) == (held["selected_step"] == 0)  # the base kept, or a checkpoint
    assert held["selected"]["loss"] <= held["base"]["loss"]
