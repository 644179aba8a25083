"""`hirl demo` end to end at toy size (hash text encoder, a few optimizer steps): the report's contract."""
import json
from pathlib import Path

from hirl.cli import main

TINY = "{max_steps: 8, batch_size: 32, eval_every: 4, checkpoint_every: 4, tensorboard: false}"


def test_demo_writes_the_report_contract(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(["demo", "--out", str(out), "collect.episodes=3", "collect.chain_length=1", "collect.workers=1",
               "text_encoder=hash", f"train.low={TINY}", f"train.high={TINY}", f"train.baseline={TINY}",
               "eval.episodes=1", "eval.chain_length=1", "eval.video_size=32", "eval.frame_every=25"])
    assert rc == 0
    report = json.loads((out / "report.json").read_text())
    assert set(report["policies"]) == {"hier_language", "flat", "expert"}
    for m in report["policies"].values():  # 1-subtask chains: an episode succeeds iff it completes its one subtask
        assert m["success_rate"] == m["avg_chain_length"]
    assert report["policies"]["expert"]["success_rate"] == 1.0  # the scripted expert solves its 1-subtask chain
    assert report["run_dir"] == str((out / "run").resolve())
    rows = [line for line in (out / "summary.md").read_text().splitlines() if line.startswith("| hier_language |")]
    assert len(rows) == 1  # one row of the comparison table (the per-subtask table has agents as columns)
    assert report["plots"] == [str(out / "chain_success.png"), str(out / "subtask_success.png")]
    assert all(Path(p).stat().st_size > 0 for p in report["plots"])
    videos = sorted(p.name for p in (out / "videos").glob("*.mp4"))
    # the expert's 1-subtask chain is a success; the 8-step networks fail theirs: that failure is on film
    assert videos == ["expert_ep000_success.mp4", "flat_ep000_failure.mp4", "hier_language_ep000_failure.mp4"]
    assert {m["videos"][0] for m in report["policies"].values()} == {str(out / "videos" / v) for v in videos}
    assert (out / "data" / "data").is_dir() and (out / "run" / "config.yaml").is_file()
    assert "report:" in capsys.readouterr().out
