"""`hirl eval --instruction-map`: parsing the TSV (comments, several phrasings, one InputError line naming FILE:line
for each kind of bad line), the rephrasing high level and the replan rule that judges the proposed instruction,
the oracle_high rewordings on a tiny run, and `hirl eval` end to end writing the per-phrasing and per-subtask tables."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hirl.cli import main
from hirl.errors import InputError
from hirl.eval.evaluate import load_instruction_map
from hirl.eval.instruction_map import InstructionMap, read_instruction_map
from hirl.hierarchy import ChainProgress, EnvPredicate, OnCompletion, ReplanContext
from hirl.hierarchy.rollout import run_episode
from hirl.integrations import adapter
from hirl.policies.scripted import ScriptedHighLevel
from hirl.runs import RunDir, load_agent, run_kind
from hirl.runs.agents import AgentContext
from hirl.encoders.text_factory import make_text_encoder
from hirl.hierarchy.grounding import SkillGrounder
from hirl.hierarchy.replan import ProposedSubgoalRule
from hirl.policies.high.rewording import CommandRewording, Rephrasing
from hirl.runs.recipes import OracleHighPhrasing, grounded
from hirl.types import Command, Subgoal
from hirl_envs.tabletop import tasks
from tests.eval.conftest import write
from tests.runs.helpers import TABLETOP

ENV = TABLETOP
INSTRUCTIONS = [s.instruction for s in tasks.SUBTASKS.values()]  # the 17 canonical instructions


def canonicalize(text: str) -> str | None:
    """Tabletop's wording map (what the env adapter's detector_extra gives, without making an env)."""
    name = tasks.canonical(text)
    return None if name is None else tasks.SUBTASKS[name].instruction


def read(path: Path) -> InstructionMap:
    return read_instruction_map(path, canonicalize, ENV)


def two_phrasings(path: Path) -> Path:
    """A map giving every instruction 2 phrasings ("<c> now", "please <c>")."""
    return write(path, "# two phrasings of every instruction\n" +
                 "".join(f"{c}\t{c} now\n{c}\tplease {c}\n" for c in INSTRUCTIONS))


def test_a_good_file_with_comments_blank_lines_and_several_phrasings(tmp_path):
    path = write(tmp_path / "map.tsv", "# my wording\n\n"
                 "open the drawer\tyank the drawer open\r\n"
                 "  # an indented comment\n"
                 "open_drawer\tdrawer open\n"              # a subtask name in the first column
                 "pull the drawer open\tplease open it\n"  # a shipped paraphrase in the first column
                 "Push  the button\ttap the   button\n"     # case and inner whitespace normalised
                 "push the button\tpress the button\n")    # a shipped paraphrase of the same subtask as a phrasing
    m = read(path)
    assert m.path == str(path)
    assert m.phrasings == {"open the drawer": ("yank the drawer open", "drawer open", "please open it"),
                           "push the button": ("tap the button", "press the button")}
    assert m.variants == 3
    assert m.variant(0) == {"open the drawer": "yank the drawer open", "push the button": "tap the button"}
    assert m.variant(2) == {"open the drawer": "please open it", "push the button": "tap the button"}  # cycles


@pytest.mark.parametrize(("body", "line", "what"), [
    ("open the drawer yank it\n", 1, "found no tab"),
    ("# c\nopen the drawer\tyank it\tnow\n", 2, "found 2 tabs"),
    ("open the drawer\t\n", 1, "empty phrasing"),
    ("\tyank it\n", 1, "empty canonical instruction"),
    ("\nopen the fridge\tyank it\n", 2, "'open the fridge' is not an instruction hirl/Tabletop-v0 knows"),
    ("open the drawer\tclose the drawer\n", 1, "is hirl/Tabletop-v0's wording of 'close the drawer'"),
    ("open the drawer\tyank it\nopen the drawer\tYank it\n", 2, "repeated (line 1)"),
    ("open the drawer\tyank it\nclose the drawer\tyank it\n", 2, "already given for 'open the drawer' (line 1)"),
])
def test_a_bad_line_is_one_input_error_naming_file_and_line(tmp_path, body, line, what):
    path = write(tmp_path / "bad.tsv", body)
    with pytest.raises(InputError) as err:
        read(path)
    message = str(err.value)
    assert message.startswith(f"{path}:{line}: ") and what in message and "\n" not in message


def test_a_missing_or_empty_file_is_one_input_error(tmp_path):
    with pytest.raises(InputError, match="instruction map not found"):
        read(tmp_path / "nope.tsv")
    with pytest.raises(InputError, match="no 'canonical instruction<TAB>phrasing' lines"):
        read(write(tmp_path / "empty.tsv", "# nothing yet\n\n"))


def test_the_example_map_covers_every_tabletop_instruction_in_own_words():
    m = read(Path(__file__).resolve().parents[2] / "experiments" / "tabletop" / "instruction_map.tsv")
    assert set(m.phrasings) == set(INSTRUCTIONS) and m.variants == 3
    assert all(canonicalize(p) is None for ps in m.phrasings.values() for p in ps)  # none is a shipped wording


def expert_like(text: str) -> ScriptedHighLevel:
    """A high level proposing `text` (a fresh Subgoal object at every call, as the expert's does)."""
    return ScriptedHighLevel(lambda obs, command: Subgoal("language", text, "expert"))


def context(subgoal: Subgoal, info: dict) -> ReplanContext:
    return ReplanContext(step=5, steps_since_replan=5, subgoal=subgoal, obs={}, info=info)


def test_rephrasing_emits_the_mapped_text_and_the_rule_judges_the_proposed_instruction():
    high = Rephrasing(expert_like("open the drawer"), {"open the drawer": "yank the drawer open"}.get)
    g = high.propose({}, Command("open the drawer"))
    assert (g.kind, g.value, g.source) == ("language", "yank the drawer open", "expert")
    assert high.proposed(g).value == "open the drawer"
    done = {"subtask_success": {"open the drawer": True}}
    detector = EnvPredicate(canonicalize=canonicalize)  # the env's detector: it does not know the phrasing
    assert not OnCompletion(detector, timeout=300).decide(context(g, done))
    assert ProposedSubgoalRule(OnCompletion(detector, timeout=300), high).decide(context(g, done)) == "completion"
    unmapped = Rephrasing(expert_like("push the button"), {"open the drawer": "yank"}.get)
    assert unmapped.propose({}, Command("push the button")).value == "push the button"  # not in the map: canonical


def test_the_rule_keeps_one_proposal_per_segment_for_chain_progress():
    """chain_progress keys a segment on the subgoal object: the wrapped rule must pass the same proposal every step."""
    high = Rephrasing(expert_like("open the drawer"), {"open the drawer": "yank"}.get)
    rule = ProposedSubgoalRule(OnCompletion(ChainProgress(), timeout=300), high)
    rule.reset()
    g = high.propose({}, Command("open the drawer"))
    assert rule.decide(context(g, {"completed_subtasks": []})) is None  # first sight: the count is taken
    assert rule.decide(context(g, {"completed_subtasks": []})) is None
    assert rule.decide(context(g, {"completed_subtasks": ["open the drawer"]})) == "completion"


def test_oracle_high_rewordings_emit_the_phrasing_and_the_held_out_paraphrase(language_run: RunDir):
    kind = run_kind(language_run.kind())
    cfg = kind.load_config(language_run)
    setup = kind.eval_setup(cfg)
    env = kind.make_env(cfg)
    phrased = OracleHighPhrasing({c: f"please {c}" for c in INSTRUCTIONS}).build(AgentContext(language_run, cfg, kind, env))
    paraphrase = load_agent(language_run, "oracle_high_paraphrase", env)
    ad = adapter(ENV)
    for agent, expected in ((phrased, lambda c: f"please {c}"), (paraphrase, lambda c: ad.paraphrase_split(c)[1][0])):
        r = run_episode(env, agent, setup.command, seed=setup.seed, options=setup.options(1))
        emitted = [e.subgoal.value for e in agent.trace]
        assert emitted and set(emitted) == {expected(r.task[0])}
    env.close()


def test_grounded_wording_gives_the_known_skill_or_the_worded_text_when_unsure(caplog):
    grounder = SkillGrounder(["turn on the light", "turn off the light", "open the drawer"], make_text_encoder("hash", 384))
    sure = grounded({"turn off the light": "switch the lamp off"}.get, grounder)
    assert sure("turn off the light") == "turn off the light"  # the paraphrase grounded back to the known skill
    unsure = grounded({"turn off the light": "do the light thing"}.get, grounder)
    assert unsure("turn off the light") == "do the light thing"  # not sure: passed on as worded, and said once
    assert unsure("turn off the light") == "do the light thing"
    said = [r.getMessage() for r in caplog.records if "passed on as worded" in r.getMessage()]
    assert len(said) == 1 and "instruction 'do the light thing'" in said[0]


def test_command_rewording_gives_the_high_level_text_only_with_each_subtask_reworded():
    seen: list[Command] = []
    inner = ScriptedHighLevel(lambda obs, command: seen.append(command) or Subgoal("language", "open the drawer"))
    high = CommandRewording(inner, {"open the drawer": "yank the drawer open"}.get)
    high.propose({}, Command("open the drawer, then push the button", ("open the drawer", "push the button")))
    assert seen == [Command("yank the drawer open, then push the button")]  # no decomposition given


def test_oracle_high_paraphrase_grounded_emits_known_skills(language_run: RunDir):
    env = run_kind(language_run.kind()).make_env(run_kind(language_run.kind()).load_config(language_run))
    agent = load_agent(language_run, "oracle_high_paraphrase_grounded", env)
    setup = run_kind(language_run.kind()).eval_setup(run_kind(language_run.kind()).load_config(language_run))
    r = run_episode(env, agent, setup.command, seed=setup.seed, options=setup.options(1))
    held_out = adapter(ENV).paraphrase_split(r.task[0])[1][0]
    emitted = {e.subgoal.value for e in agent.trace}
    assert emitted and emitted <= {r.task[0], held_out}  # grounded back to the instruction, or passed on when unsure
    env.close()


def test_a_grounded_phrasing_agent_emits_the_known_skill_its_phrasing_stands_for(language_run: RunDir):
    kind = run_kind(language_run.kind())
    cfg = kind.load_config(language_run)
    setup = kind.eval_setup(cfg)
    env = kind.make_env(cfg)
    agent = OracleHighPhrasing({c: f"please {c}" for c in INSTRUCTIONS}, grounded=True).build(
        AgentContext(language_run, cfg, kind, env))
    r = run_episode(env, agent, setup.command, seed=setup.seed, options=setup.options(1))
    assert {e.subgoal.value for e in agent.trace} == {r.task[0]}  # "please <c>" grounded back to <c>
    env.close()


def test_hirl_eval_ground_adds_the_grounded_pass_of_the_map_and_needs_a_map(language_run, tmp_path, capsys):
    imap, out = two_phrasings(tmp_path / "map.tsv"), tmp_path / "eval"
    assert main(["eval", str(language_run.path), "--agents", "oracle_high", "--instruction-map", str(imap),
                 "--ground", "--out", str(out), "--episodes", "1"]) == 0
    report = json.loads((out / "report.json").read_text())
    plain, ground = report["instruction_map"], report["instruction_map_grounded"]
    assert len(ground["variants"]) == len(plain["variants"]) == 2
    assert [[e["task"] for e in v["episodes_detail"]] for v in ground["variants"]] == [
        [e["task"] for e in v["episodes_detail"]] for v in plain["variants"]]  # the same chains
    assert "each phrasing grounded to a known skill first" in (out / "summary.md").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit, match="--ground grounds an instruction map"):
        main(["eval", str(language_run.path), "--ground", "--out", str(tmp_path / "e2")])


def test_load_instruction_map_checks_the_run(language_run: RunDir, tmp_path):
    kind = run_kind(language_run.kind())
    m = load_instruction_map(two_phrasings(tmp_path / "map.tsv"), language_run, kind, kind.load_config(language_run))
    assert m.variants == 2 and len(m.phrasings) == 17
    empty = RunDir(tmp_path / "no_low_level")
    empty.config_path.parent.mkdir(parents=True)
    empty.config_path.write_text(language_run.config_path.read_text())
    with pytest.raises(InputError, match="needs the run's language low level"):
        load_instruction_map(tmp_path / "map.tsv", empty, kind, kind.load_config(empty))


def test_hirl_eval_with_a_two_phrasing_map_writes_the_per_phrasing_and_per_subtask_tables(language_run, tmp_path, capsys):
    imap, out = two_phrasings(tmp_path / "map.tsv"), tmp_path / "eval"
    assert main(["eval", str(language_run.path), "--agents", "oracle_high", "--instruction-map", str(imap),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    base = report["policies"]["oracle_high"]
    tasks_run = [e["task"][0] for e in base["episodes_detail"]]
    assert len(tasks_run) == 2
    per = base["per_subtask"]  # the first-class per-subtask table, consistent with the old key
    assert set(per) == set(tasks_run) and sum(s["attempted"] for s in per.values()) == 2
    assert {k: v["success"] for k, v in per.items()} == base["per_subtask_success"]
    sec = report["instruction_map"]
    assert sec["file"] == str(imap) and sec["agent"] == "oracle_high" and len(sec["variants"]) == 2
    assert sec["variants"][1]["phrasings"]["open the drawer"] == "please open the drawer"
    assert [[e["task"] for e in v["episodes_detail"]] for v in sec["variants"]] == [
        [e["task"] for e in base["episodes_detail"]]] * 2  # the same chains as plain oracle_high
    for c in set(tasks_run):
        assert set(sec["per_phrasing"][c]) == {f"{c} now", f"please {c}"}
        assert sec["per_phrasing"][c][f"{c} now"]["attempted"] == tasks_run.count(c)
        assert sec["baseline"][c] == per[c]
    untried = next(c for c in INSTRUCTIONS if c not in tasks_run)
    assert sec["per_phrasing"][untried][f"{untried} now"] == {"attempted": 0, "completed": 0, "success": None}
    summary = (out / "summary.md").read_text()
    assert summary in printed  # `hirl eval` prints what it writes
    assert "## Per-subtask success" in summary and "## Instruction map" in summary
    c = tasks_run[0]
    assert re.search(rf"\| {re.escape(c)} \| [01]\.00 \(\d/\d\) \|", summary)  # subtask x agent row
    assert f"| | please {c} | " in summary and f"| {c} | {c} now" not in summary  # the instruction once, on its row
    assert "| canonical | " in summary and "| 1 | " in summary  # the variants beside the canonical baseline


def test_hirl_eval_rejects_a_bad_map_in_one_line_before_any_rollout(language_run, tmp_path, capsys):
    bad = write(tmp_path / "bad.tsv", "open the drawer\tyank it\nopen the fridge\tyank it harder\n")
    assert main(["eval", str(language_run.path), "--instruction-map", str(bad), "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"hirl eval: error: {bad}:2: 'open the fridge' is not an instruction hirl/Tabletop-v0 knows (the "
                   "first column names one of its subtasks: canonical instruction, subtask name or shipped paraphrase)")
    assert not (tmp_path / "e").exists()
