"""The hirl command: help for every subcommand, one-line errors with exit 2, no traceback."""
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


@pytest.mark.parametrize("name", [n for n, (_, target, _) in SUBCOMMANDS.items() if target is None])
def test_not_landed_subcommands_say_so_and_exit_2(name, capsys, tmp_path):
    argv = {"collect": ["--env", "x", "--episodes", "1", "--out", str(tmp_path / "d")], "data": ["info", "x"],
            "train": ["x.yaml"], "eval": ["run"], "correct": ["run"], "teleop": ["--out", "x"]}[name]
    assert main([name, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"hirl {name}: error: 'hirl {name}' is not available yet") and "\n" not in err


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
