"""The hirl command: help for every subcommand, one-line errors with exit 2, no traceback."""
import os
import subprocess
import sys

import pytest

from hirl.cli import SUBCOMMANDS, main


def hirl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hirl.cli", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_every_subcommand():
    out = hirl("--help")
    assert out.returncode == 0
    for name in ["collect", "train", "eval", "correct", "teleop", "bench", "demo"]:
        assert name in out.stdout


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_each_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    assert "usage: hirl " + name in capsys.readouterr().out


def test_train_and_eval_reject_a_missing_config_in_one_line(tmp_path, capsys):
    assert main(["train", str(tmp_path / "missing.yaml")]) == 2
    assert main(["eval", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "missing.yaml" in lines[0] and "not a run directory" in lines[1]


def test_misspelled_config_key_fails_in_one_line(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("seed: 1\nsede: 2\n")
    out = hirl("demo", "--config", str(cfg), "--out", str(tmp_path / "out"))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "Traceback" not in out.stderr
    assert "sede" in out.stderr and str(cfg) in out.stderr


def test_bad_override_fails_in_one_line(tmp_path):
    out = hirl("demo", "--out", str(tmp_path / "out"), "eval.episodes=many")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "command-line override: key 'eval.episodes': expected int" in out.stderr


# -- collection settings: one declaration (hirl.data.collect_config), the flags and the run config's section read it
def _collect_actions() -> dict:
    import argparse

    from hirl.cli import build_parser

    subs = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a for a in subs.choices["collect"]._actions if a.dest != "help"}


def test_collect_flags_cannot_drift_from_collect_config():
    import dataclasses
    import typing

    from hirl.cli import COLLECT_NOT_ON_CLI, field_comments
    from hirl.data.collect_config import CollectConfig

    actions = _collect_actions()
    fields = {f.name: f for f in dataclasses.fields(CollectConfig) if f.name not in COLLECT_NOT_ON_CLI}
    assert set(actions) == set(fields) | {"out", "resume", "imports", "backend", "address"}  # + the command's own
    hints, comments = typing.get_type_hints(CollectConfig), field_comments(CollectConfig)
    for name, f in fields.items():
        action = actions[name]
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        assert action.option_strings == ["--" + name.replace("_", "-")]
        assert action.required is not has_default, name
        assert comments[name] and action.help.startswith(comments[name]), name
        if typing.get_origin(hints[name]) is dict:  # a JSON object on the command line
            assert action.type is None and action.default is None, name
        else:
            assert action.type is hints[name], name
            assert action.default == (f.default if has_default else None), name


def test_a_field_without_comment_gets_a_generic_help_text():
    """A settings dataclass whose field has no comment (or whose source is unreadable) still builds its flags."""
    import argparse
    import dataclasses

    from hirl.cli import add_dataclass_flags

    @dataclasses.dataclass
    class Settings:
        count: int = 3
        name: str = "x"  # what it is called

    parser = argparse.ArgumentParser()
    add_dataclass_flags(parser, Settings)
    helps = {a.dest: a.help for a in parser._actions}
    assert helps["count"] == "Settings.count (int)" and helps["name"] == "what it is called"
    assert parser.parse_args(["--count", "5"]).count == 5


def test_collect_flags_keep_their_defaults():
    defaults = {name: (a.default, a.required) for name, a in _collect_actions().items()}
    assert defaults == {
        "env": (None, True), "episodes": (None, True), "out": (None, True), "seed": (0, False), "workers": (2, False),
        "image_every": (0, False), "image_size": (128, False), "noise": (0.05, False), "chain_length": (5, False),
        "env_kwargs": (None, False), "resume": (False, False), "imports": ([], False), "backend": ("local", False),
        "address": (None, False),
    }


def test_parsed_collect_flags_build_the_collect_config(monkeypatch):
    import hirl.data.collect
    from hirl.data.collect_config import CollectConfig

    seen = {}
    monkeypatch.setattr(hirl.data.collect, "collect",
                        lambda cfg, out, resume, backend, address: seen.update(cfg=cfg, out=out, resume=resume,
                                                                               backend=backend, address=address) or {})
    assert main(["collect", "--env", "hirl/Maze-v0", "--episodes", "3", "--out", "d", "--image-size", "32",
                 "--noise", "0.1", "--env-kwargs", '{"layout": "u"}', "--resume"]) == 0
    assert seen == {"cfg": CollectConfig(env="hirl/Maze-v0", episodes=3, image_size=32, noise=0.1, env_kwargs={"layout": "u"}),
                    "out": "d", "resume": True, "backend": "local", "address": None}


def test_run_config_collect_section_shares_the_fields_and_keeps_its_defaults(tmp_path):
    import dataclasses
    from pathlib import Path

    import yaml

    from hirl.config import from_dict
    from hirl.data.collect_config import CollectSettings
    from hirl.learn.run_config import CollectSpec

    shared = [(f.name, f.type) for f in dataclasses.fields(CollectSettings)]
    assert [(f.name, f.type) for f in dataclasses.fields(CollectSpec)] == shared
    run_defaults = {"episodes": 200, "seed": 0, "workers": 2, "image_every": 0, "image_size": 64, "noise": 0.05,
                    "chain_length": 5}
    assert dataclasses.asdict(CollectSpec()) == run_defaults
    root = Path(__file__).resolve().parents[1]
    configs = [*sorted((root / "experiments").rglob("*.yaml")), root / "hirl" / "configs" / "demo.yaml"]
    sections = [(p, yaml.safe_load(p.read_text()).get("collect")) for p in configs]
    sections = [(p, s) for p, s in sections if s is not None]
    assert len(sections) >= 5  # experiments/{tabletop,maze} and the demo config
    for path, section in sections:
        assert dataclasses.asdict(from_dict(CollectSpec, section, str(path))) == run_defaults | section, path


# -- the validation layer (hirl.commands.arguments): one line, exit 2, before the command runs
def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["collect", "--env", "hirl/Maze-v0", "--episodes", "abc", "--out", "x"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hirl collect: error: argument --episodes: invalid int value: 'abc'")


def test_overrides_after_a_list_option_are_overrides(monkeypatch):
    import hirl.commands.evaluate

    seen = {}
    monkeypatch.setattr(hirl.commands.evaluate, "run", lambda args: seen.update(vars(args)) or 0)
    assert main(["eval", "RUN", "--agents", "flat", "expert", "eval.episodes=3", "replan.interval=5"]) == 0
    assert seen["agents"] == ["flat", "expert"] and seen["overrides"] == ["eval.episodes=3", "replan.interval=5"]
    assert seen["out"] == "RUN/eval"  # the default output, named before the command so it is checked and locked


@pytest.mark.parametrize("argv, expected", [
    (["bench", "envs", "--episodes", "0"], "hirl bench: error: --episodes: must be in 1..1000000, got 0"),
    (["bench", "envs", "--seed", "-1"], "hirl bench: error: --seed: must be in 0..4294967295, got -1"),
    (["eval", "RUN", "--episodes", "-1"], "hirl eval: error: --episodes: must be in 1..1000000, got -1"),
    (["correct", "RUN", "--port", "99999"], "hirl correct: error: --port: must be in 0..65535, got 99999"),
])
def test_numeric_limits(argv, expected, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == expected


def test_an_output_folder_has_one_writer(tmp_path, capsys):
    from hirl.runs.rundir import FolderLock

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("agents: [flat]\n")
    with FolderLock(tmp_path / "run", "training run"):
        assert main(["train", str(cfg), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "in use by another training run" in err and f"pid {os.getpid()}" in err
    assert not (tmp_path / "run").exists()  # the lock's folder is removed with it: nothing left behind


@pytest.mark.parametrize("argv, line", [
    (["train"], "hirl train: error: the following arguments are required: CONFIG_OR_RUN (see hirl train --help)"),
    (["eval"], "hirl eval: error: the following arguments are required: RUN (see hirl eval --help)"),
    (["trian", "x.yaml"], "hirl: error: unknown command 'trian'; did you mean 'train'? (see hirl --help)"),
    (["evl"], "hirl: error: unknown command 'evl'; did you mean 'eval'? (see hirl --help)"),
    (["xyzzy"], "hirl: error: unknown command 'xyzzy' (choose from collect, data, train, eval, correct, teleop, bench, "
                "demo, migrate, compare, export) (see hirl --help)"),
    (["correct", "RUN", "--ui", "webb"],
     "hirl correct: error: argument --ui: invalid choice: 'webb'; did you mean 'web'? (see hirl correct --help)"),
    (["eval", "experiments/tabletop/hierarchical.yaml"],
     "hirl eval: error: experiments/tabletop/hierarchical.yaml: a config file, not a run directory; train it, then "
     "evaluate the run: hirl train experiments/tabletop/hierarchical.yaml --out runs/hierarchical && "
     "hirl eval runs/hierarchical"),
    (["eval", "RUN", "episodes=5"],
     "hirl eval: error: episodes=5: --episodes is an option of hirl eval, not a config key; write --episodes 5"),
    (["eval", "RUN", "--agents", "flat", "instruction-map=m.tsv"],
     "hirl eval: error: instruction-map=m.tsv: --instruction-map is an option of hirl eval, not a config key; write "
     "--instruction-map m.tsv"),
    (["train", "c.yaml", "out=runs/x"],
     "hirl train: error: out=runs/x: --out is an option of hirl train, not a config key; write --out runs/x"),
    (["demo", "config=my.yaml"],
     "hirl demo: error: config=my.yaml: --config is an option of hirl demo, not a config key; write --config my.yaml"),
    (["correct", "RUN", "autostart=true"],
     "hirl correct: error: autostart=true: --autostart is an option of hirl correct, not a config key; write --autostart"),
])
def test_cli_edges_are_one_exact_line(argv, line, capsys):
    """Optional overrides are never 'required'; misspelled commands and choices name the closest; a config given to
    eval says how to train then evaluate; key=value naming an option (and no config key) points to the --flag."""
    with pytest.raises(SystemExit) as exit_info:
        sys.exit(main(argv))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_a_config_key_that_is_also_an_option_stays_an_override(monkeypatch):
    """`agents=[flat]` changes the run config's agents (a key of RunConfig): not mistaken for --agents."""
    from hirl.commands import arguments

    ns = __import__("argparse").Namespace(command="eval", run="RUN", overrides=["agents=[flat]"], agents=None,
                                          episodes=None, out=None, instruction_map=None)
    arguments._flags_written_as_overrides(ns)  # no error


def test_usage_shows_overrides_as_optional(capsys):
    for name, usage in (("train", "usage: hirl train [-h] [--out OUT] CONFIG_OR_RUN [KEY=VALUE ...]"),
                        ("demo", "usage: hirl demo [-h] [--out OUT] [--config CONFIG] [KEY=VALUE ...]")):
        with pytest.raises(SystemExit):
            main([name, "--help"])
        assert capsys.readouterr().out.splitlines()[0] == usage
