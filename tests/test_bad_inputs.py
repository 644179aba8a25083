"""The bad-input corpus: every entry of CASES is one bad config, command-line argument, dataset or checkpoint, run
through hirl.cli.main (in process; SUBPROCESS ones through `python -m hirl.cli`). Each must exit 2 with exactly one
line on stderr that names the file / key / flag (Case.expect), no traceback, and leave its --out as it was.

    python tests/test_bad_inputs.py [--pythonpath DIR]     the probe table of docs/reliability.md: every case as a
                                                           subprocess against the hirl found first on DIR
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TT = ["--env", "hirl/Tabletop-v0", "--episodes", "2", "--workers", "1", "--chain-length", "1"]  # a valid collect
MAZE = ["--env", "hirl/Maze-v0", "--episodes", "2", "--workers", "1"]
RUN_YAML = """env: hirl/Tabletop-v0
dataset: {tt}
collect: {{episodes: 2, workers: 1, chain_length: 1}}
agents: [flat, hier_language]
text_encoder: hash
paraphrase_augment: 0
train:
  baseline: {{max_steps: 4, batch_size: 8, eval_every: 2, checkpoint_every: 2, tensorboard: false, progress: false}}
  low: {{max_steps: 2, batch_size: 8, tensorboard: false, progress: false}}
  high: {{max_steps: 2, batch_size: 8, tensorboard: false, progress: false}}
eval: {{episodes: 1, chain_length: 1, videos: 0}}
"""


@dataclass(frozen=True)
class Case:
    """argv (placeholders: {out} a fresh path that must still not exist afterwards, {file} an existing file, {cfg} the
    case's config written from `config`, {tt} the shared valid dataset, {ds} / {run} a private copy of the valid dataset /
    trained run after `mutate`), and `expect`: text the one error line must contain (formatted with the same names)."""

    area: str
    name: str
    argv: tuple[str, ...]
    expect: str
    config: str | None = None  # YAML text of {cfg} (placeholders filled in; {newdata}: a dataset path that does not exist)
    mutate: Callable[[Path], None] | None = None  # applied to the copy {ds} or {run}
    subprocess: bool = False  # through the real entry point (python -m hirl.cli)
    whole_file: bool = False  # config is the whole of {cfg} (default: appended to a valid run config)
    out_untouched: bool = True  # False: the command may legitimately have written --out before refusing


def nested_list(depth: int) -> str:
    return "env_kwargs:\n  x: " + "[" * depth + "]" * depth + "\n"


def alias_bomb(levels: int = 8) -> str:
    """A billion-laughs bomb inside env_kwargs (a free-form mapping, so the keys are not refused as unknown)."""
    lines = ["env_kwargs:", "  a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def h5_edit(edit: Callable[[h5py.File], None]) -> Callable[[Path], None]:
    def mutate(ds: Path) -> None:
        with h5py.File(ds / "data" / "main_data.hdf5", "a") as f:
            edit(f)
    return mutate


def replace(key: str, value: np.ndarray) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        del f[key]
        f[key] = value
    return edit


def scaled(key: str, fill: float) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        a = f[key][()].astype(np.float64)
        a[len(a) // 2] = fill
        f[key][...] = a
    return edit


def flipped_byte(key: str) -> Callable[[Path], None]:
    """One bit flipped inside the stored data of array key (a bad disk or copy)."""
    def mutate(ds: Path) -> None:
        from tests.fixtures.corrupt import flip_data_byte  # here: run as a script, the repository joins sys.path late

        flip_data_byte(ds / "data" / "main_data.hdf5", key)
    return mutate


def widened(key: str) -> Callable[[h5py.File], None]:
    return lambda f: replace(key, np.zeros((f[key].shape[0], f[key].shape[1] + 1), f[key].dtype))(f)


def empty_dataset(ds: Path) -> None:
    with h5py.File(ds / "data" / "main_data.hdf5", "a") as f:
        for name in list(f):
            del f[name]
    meta_file = ds / "data" / "metadata.json"
    meta = json.loads(meta_file.read_text())
    meta.update(total_episodes=0, total_steps=0)
    meta["hirl"]["episode_indices"] = []
    meta_file.write_text(json.dumps(meta))


def json_edit(rel: str, **changes: object) -> Callable[[Path], None]:
    """Set (dotted) keys of the JSON file run/rel."""
    def mutate(run: Path) -> None:
        path = run / rel
        record = json.loads(path.read_text())
        for dotted, value in changes.items():
            node = record
            *parents, last = dotted.split("__")
            for p in parents:
                node = node[p]
            node[last] = value
        path.write_text(json.dumps(record))
    return mutate


def nan_weight(run: Path) -> None:
    """One NaN in the flat model's first weight tensor."""
    from safetensors.numpy import load_file, save_file

    path = run / "models" / "flat" / "weights.safetensors"
    tensors = load_file(str(path))
    first = sorted(tensors)[0]
    tensors[first] = tensors[first].copy()
    tensors[first].reshape(-1)[0] = np.nan
    save_file(tensors, str(path))


def pickled_checkpoint(run: Path) -> None:
    """The checkpoint file replaced by a plain pickle (protocol 4, naming a function), its size and sha256 forged in
    checkpoint.json so that only the weights-only unpickler stands in the way."""
    import hashlib
    import pickle

    record_path = run / CKPT
    record = json.loads(record_path.read_text())
    data = pickle.dumps(os.system, protocol=4)
    (record_path.parent / record["file"]).write_bytes(data)
    record.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    record_path.write_text(json.dumps(record))


def write_big(path: Path) -> None:
    path.write_text("seed: 0\n" + "# padding\n" * 500_000)


MODEL = "models/flat/config.json"
CKPT = "train/flat/checkpoint.json"
EVAL = ("eval", "{run}", "--agents", "flat", "--episodes", "1", "--out", "{out}")
RESUME = ("train", "{run}/config.yaml", "--out", "{run}", "train.baseline.max_steps=6")  # resumes train/flat
TRAIN = ("train", "{cfg}", "--out", "{out}")
CASES: list[Case] = [
    # -- configs (hirl train / demo / eval: one line naming the file and the key)
    Case("config", "nested list 10 KB", TRAIN, "{cfg}: config refused", nested_list(5000)),
    Case("config", "YAML alias bomb (8 levels, 500 B)", TRAIN, "{cfg}: config refused", alias_bomb()),
    Case("config", "recursive alias", TRAIN, "{cfg}: config refused",
         "env_kwargs:\n  x: &a [*a]\n"),
    Case("config", "5 MB config file", TRAIN, "{cfg}: config file is larger"),
    Case("config", "unknown env_kwargs key", TRAIN, "{cfg}: key 'env_kwargs'",
         "env: hirl/Maze-v0\ndataset: {newdata}\nenv_kwargs: {layuot: u}\n"),
    Case("config", "bad maze layout", TRAIN, "{cfg}: key 'env_kwargs'",
         "env: hirl/Maze-v0\ndataset: {newdata}\nenv_kwargs: {layout: zzz}\n"),
    Case("config", "unknown env", TRAIN, "{cfg}: key 'env'", "env: hirl/Nope-v0\ndataset: {newdata}\n"),
    Case("config", "collect.episodes: -1", TRAIN, "{cfg}: key 'collect.episodes'", "collect: {episodes: -1}\n"),
    Case("config", "collect.workers: 0", TRAIN, "{cfg}: key 'collect.workers'", "collect: {workers: 0}\n"),
    Case("config", "collect.chain_length: 99", TRAIN, "{cfg}: key 'collect.chain_length'", "collect: {chain_length: 99}\n"),
    Case("config", "collect.noise: .nan", TRAIN, "{cfg}: key 'collect.noise'", "collect: {noise: .nan}\n"),
    Case("config", "eval.episodes: -3", TRAIN, "{cfg}: key 'eval.episodes'", "eval: {episodes: -3}\n"),
    Case("config", "eval.episodes=0 override", (*TRAIN, "eval.episodes=0"),
         "key 'eval.episodes'", ""),
    Case("config", "seed: 10**20", TRAIN, "{cfg}: key 'seed'", "seed: 100000000000000000000\n"),
    Case("config", "seed: -5", TRAIN, "{cfg}: key 'seed'", "seed: -5\n"),
    Case("config", "misspelled key", TRAIN, "{cfg}: key 'sede'", "sede: 1\n"),
    Case("config", "top level a list", TRAIN, "{cfg}: top level must be a mapping", "- 1\n", whole_file=True),
    Case("config", "python tag", TRAIN, "{cfg}: invalid YAML", "seed: !!python/object/apply:os.system [echo]\n"),
    Case("config", "config is a folder", ("train", "{tt}", "--out", "{out}"),
         "{tt}: a dataset folder, neither a run directory (no config.yaml) nor a config file"),
    Case("config", "deep override value", (*TRAIN, "env_kwargs.x=" + "[" * 200 + "]" * 200),
         "command-line override 'env_kwargs.x", ""),
    Case("config", "demo: eval.episodes=0", ("demo", "--out", "{out}", "eval.episodes=0"),
         "key 'eval.episodes'"),
    Case("config", "duplicate key", TRAIN, "duplicate key 'seed'", "seed: 1\nseed: 2\n"),
    Case("config", "duplicate key in a section", TRAIN, "duplicate key 'episodes'", "eval: {episodes: 1, episodes: 2}\n"),
    Case("config", "comment-only config file", TRAIN, "{cfg}: config file has no keys", "# nothing here\n",
         whole_file=True),
    Case("config", "dataset: ''", TRAIN, "{cfg}: key 'dataset': empty path", "dataset: ''\n"),
    Case("config", "agents listed twice", TRAIN, "{cfg}: key 'agents'", "agents: [flat, flat]\n"),
    Case("config", "obs_keys repeated", TRAIN, "{cfg}: key 'obs_keys'", "obs_keys: [observation, observation]\n"),
    Case("config", "eval.videos: -1", TRAIN, "{cfg}: key 'eval.videos'", "eval: {videos: -1}\n"),
    Case("config", "eval.chain_length: 0", TRAIN, "{cfg}: key 'eval.chain_length'", "eval: {chain_length: 0}\n"),
    Case("config", "eval.chain_length: 99", TRAIN, "{cfg}: key 'eval.chain_length'", "eval: {chain_length: 99}\n"),
    Case("config", "text_encoder: nope", TRAIN, "{cfg}: key 'text_encoder'", "text_encoder: nope\n"),
    Case("config", "replan.detector: nope (before collecting)", TRAIN, "{cfg}: key 'replan.detector': unknown 'nope'",
         "replan: {detector: nope}\n"),
    Case("config", "networks: an entry for no component", TRAIN, "{cfg}: key 'networks.nope'", "networks: {nope: {x: 1}}\n"),
    Case("config", "networks.high_state: an unknown field", TRAIN, "{cfg}: key 'networks.high_state.bogus'",
         "agents: [hier_state]\nnetworks: {high_state: {bogus: 1}}\n"),
    Case("config", "subgoals.horizon: 0", TRAIN, "{cfg}: key 'subgoals.horizon'", "subgoals: {horizon: 0}\n"),
    Case("config", "batch_size 10**12", TRAIN, "{cfg}: key 'train.baseline.batch_size'",
         "train:\n  baseline: {batch_size: 1000000000000}\n"),
    Case("config", "override inside a scalar (seed.x=1)", (*TRAIN, "seed.x=1"), "command-line override 'seed.x'", ""),
    Case("config", "session speed=-1", ("correct", "{run}", "speed=-1", "--out", "{out}"),
         "command-line override: key 'speed'"),
    Case("config", "session image_size=100000", ("correct", "{run}", "image_size=100000", "--out", "{out}"),
         "command-line override: key 'image_size'"),
    # -- command-line arguments (one line naming the flag)
    Case("cli", "collect --chain-length 0", ("collect", *TT, "--chain-length", "0", "--out", "{out}"), "--chain-length"),
    Case("cli", "collect --chain-length 99", ("collect", *TT, "--chain-length", "99", "--out", "{out}"), "--chain-length"),
    Case("cli", "collect --image-size 100000", ("collect", *TT, "--image-size", "100000", "--out", "{out}"), "--image-size"),
    Case("cli", "collect --seed -5", ("collect", *TT, "--seed", "-5", "--out", "{out}"), "--seed"),
    Case("cli", "collect --seed 1e20", ("collect", *TT, "--seed", "1e20", "--out", "{out}"), "--seed"),
    Case("cli", "collect --seed 10**20", ("collect", *TT, "--seed", str(10**20), "--out", "{out}"), "--seed"),
    Case("cli", "collect --noise nan", ("collect", *TT, "--noise", "nan", "--out", "{out}"), "--noise"),
    Case("cli", "collect --noise -1", ("collect", *TT, "--noise", "-1", "--out", "{out}"), "--noise"),
    Case("cli", "collect --episodes 0", ("collect", *TT, "--episodes", "0", "--out", "{out}"), "--episodes"),
    Case("cli", "collect --episodes abc", ("collect", *TT, "--episodes", "abc", "--out", "{out}"), "--episodes"),
    Case("cli", "collect --workers 0", ("collect", *TT, "--workers", "0", "--out", "{out}"), "--workers"),
    Case("cli", "collect --env nope", ("collect", *TT, "--env", "nope", "--out", "{out}"), "unknown environment 'nope'"),
    Case("cli", "collect --env-kwargs unknown key", ("collect", *MAZE, "--env-kwargs", '{"layuot": "u"}', "--out", "{out}"),
         "--env-kwargs"),
    Case("cli", "collect --env-kwargs bad layout", ("collect", *MAZE, "--env-kwargs", '{"layout": "zzz"}', "--out", "{out}"),
         "--env-kwargs"),
    Case("cli", "collect --env-kwargs ragged layout",
         ("collect", *MAZE, "--env-kwargs", '{"layout": [[1, 1], [1]]}', "--out", "{out}"), "--env-kwargs"),
    Case("cli", "collect --env-kwargs not JSON", ("collect", *MAZE, "--env-kwargs", "{", "--out", "{out}"), "--env-kwargs"),
    Case("cli", "collect --out is a file", ("collect", *TT, "--out", "{file}"), "--out {file}"),
    Case("cli", "collect --out under a file", ("collect", *TT, "--out", "{file}/sub"), "--out {file}/sub"),
    Case("cli", "collect --out under /proc", ("collect", *TT, "--out", "/proc/hirl-probe/x"), "--out /proc/hirl-probe/x"),
    Case("cli", "train --out is a file", ("train", "{cfg}", "--out", "{file}"), "--out {file}", ""),
    Case("cli", "train --out under a file", ("train", "{cfg}", "--out", "{file}/run"), "--out {file}/run", ""),
    Case("cli", "eval --episodes 0", ("eval", "{run}", "--episodes", "0", "--out", "{out}"), "--episodes"),
    Case("cli", "eval --episodes -1", ("eval", "{run}", "--episodes", "-1", "--out", "{out}"), "--episodes"),
    Case("cli", "eval --out is a file", ("eval", "{run}", "--out", "{file}"), "--out {file}"),
    Case("cli", "eval overrides after --agents", ("eval", "{run}", "--agents", "flat", "eval.episodes=0", "--out", "{out}"),
         "key 'eval.episodes'"),
    Case("cli", "eval eval.episodes=-3", ("eval", "{run}", "eval.episodes=-3", "--out", "{out}"),
         "key 'eval.episodes'"),
    Case("cli", "bench envs --episodes 0", ("bench", "envs", "--episodes", "0"), "--episodes"),
    Case("cli", "bench envs --episodes -3", ("bench", "envs", "--episodes", "-3"), "--episodes"),
    Case("cli", "bench envs --out a folder", ("bench", "envs", "--episodes", "1", "--out", "{tt}"), "--out {tt}"),
    Case("cli", "bench envs --out under a file", ("bench", "envs", "--episodes", "1", "--out", "{file}/b.md"),
         "--out {file}/b.md"),
    Case("cli", "demo --out is a file", ("demo", "--out", "{file}"), "--out {file}"),
    Case("cli", "migrate a dataset folder", ("migrate", "{ds}"), "{ds}: not a run directory (no config.yaml)"),
    Case("cli", "train --out a dataset", ("train", "{cfg}", "--out", "{ds}"), "--out {ds}: is a dataset folder", ""),
    Case("cli", "collect --out a run", ("collect", *TT, "--out", "{run}"), "--out {run}: is a run folder"),
    Case("cli", "collect --out inside a dataset", ("collect", *TT, "--out", "{ds}/data/sub"), "inside the dataset folder"),
    Case("cli", "eval --out inside a dataset", ("eval", "{run}", "--out", "{ds}/data/ev"), "inside the dataset folder"),
    Case("cli", "correct --out a dataset", ("correct", "{run}", "--out", "{ds}"), "--out {ds}: is a dataset folder"),
    Case("cli", "teleop --out a dataset of another env", ("teleop", "--out", "{ds}"),
         "a dataset of 'hirl/Maze-v0', not of --env 'hirl/Tabletop-v0'", mutate=json_edit("data/metadata.json",
                                                                                         hirl__env_id="hirl/Maze-v0")),
    Case("cli", "bench envs --out a FIFO", ("bench", "envs", "--episodes", "1", "--out", "{fifo}"),
         "--out {fifo}: exists and is not a regular file"),
    Case("cli", "train --out /", ("train", "{cfg}", "--out", "/"), "--out /: is the filesystem root", ""),
    Case("cli", "eval --episodes 10**30", ("eval", "{run}", "--episodes", str(10**30), "--out", "{out}"), "--episodes"),
    Case("cli", "collect --episodes 4294967295", ("collect", *TT, "--episodes", "4294967295", "--out", "{out}"),
         "--episodes"),
    Case("cli", "demo --out under a file", ("demo", "--out", "{file}/demo"), "--out {file}/demo"),
    Case("cli", "correct --port 99999", ("correct", "{run}", "--port", "99999"), "--port"),
    Case("cli", "correct --out is a file", ("correct", "{run}", "--out", "{file}"), "--out {file}"),
    Case("cli", "teleop --port -1", ("teleop", "--out", "{out}", "--port", "-1"), "--port"),
    Case("cli", "unknown flag", ("collect", *TT, "--out", "{out}", "--bogus"), "--bogus"),
    Case("cli", "missing --out (subprocess)", ("collect", *TT), "--out", subprocess=True),
    Case("cli", "collect --chain-length 0 (subprocess)", ("collect", *TT, "--chain-length", "0", "--out", "{out}"),
         "--chain-length", subprocess=True),
    # -- datasets (hirl data info; the same loader feeds hirl train): one line naming the episode and the field
    Case("dataset", "action width 5 vs space 4", ("data", "info", "{ds}"), "episode_0: actions",
         mutate=h5_edit(widened("episode_0/actions"))),
    Case("dataset", "observation width + 1", ("data", "info", "{ds}"), "episode_0: observations/observation",
         mutate=h5_edit(widened("episode_0/observations/observation"))),
    Case("dataset", "missing observation key", ("data", "info", "{ds}"), "episode_1: observations has no 'achieved_goal'",
         mutate=h5_edit(lambda f: f.__delitem__("episode_1/observations/achieved_goal"))),
    Case("dataset", "text in actions", ("data", "info", "{ds}"), "episode_0: actions",
         mutate=h5_edit(lambda f: replace("episode_0/actions", np.array([b"up"] * f["episode_0/actions"].shape[0]))(f))),
    Case("dataset", "scalar observation", ("data", "info", "{ds}"), "episode_0: observations/observation",
         mutate=h5_edit(replace("episode_0/observations/observation", np.float64(1.0)))),
    Case("dataset", "NaN action", ("data", "info", "{ds}"), "episode_1: actions",
         mutate=h5_edit(scaled("episode_1/actions", np.nan))),
    Case("dataset", "inf action", ("data", "info", "{ds}"), "episode_0: actions",
         mutate=h5_edit(scaled("episode_0/actions", np.inf))),
    Case("dataset", "NaN observation", ("data", "info", "{ds}"), "episode_0: observations/observation",
         mutate=h5_edit(scaled("episode_0/observations/observation", np.nan))),
    Case("dataset", "actions stored as bool", ("data", "info", "{ds}"), "episode_0: actions",
         mutate=h5_edit(lambda f: replace("episode_0/actions", f["episode_0/actions"][()] > 0)(f))),
    Case("dataset", "actions stored as float16", ("data", "info", "{ds}"), "episode_0: actions",
         mutate=h5_edit(lambda f: replace("episode_0/actions", f["episode_0/actions"][()].astype(np.float16))(f))),
    Case("dataset", "action 1e30", ("data", "info", "{ds}"), "episode_1: actions",
         mutate=h5_edit(scaled("episode_1/actions", 1e30))),
    Case("dataset", "observation_space garbage", ("data", "info", "{ds}"), "metadata.json",
         mutate=json_edit("data/metadata.json", observation_space="garbage")),
    Case("dataset", "empty dataset", ("data", "info", "{ds}"), "holds no episodes", mutate=empty_dataset),
    Case("dataset", "truncated HDF5", ("data", "info", "{ds}"), "main_data.hdf5",
         mutate=lambda ds: (ds / "data/main_data.hdf5").write_bytes((ds / "data/main_data.hdf5").read_bytes()[:5000])),
    Case("dataset", "metadata not JSON", ("data", "info", "{ds}"), "metadata.json",
         mutate=lambda ds: (ds / "data/metadata.json").write_text("{")),
    Case("dataset", "train on a NaN dataset", ("train", "{cfg}", "--out", "{out}", "dataset={ds}"),
         "episode_1: actions", "", mutate=h5_edit(scaled("episode_1/actions", np.nan))),
    Case("dataset", "flipped byte in an episode's actions", ("data", "info", "{ds}"),
         "{ds}/data/main_data.hdf5: checksum mismatch in episode_1 (actions): the file is corrupted",
         mutate=flipped_byte("episode_1/actions")),
    Case("dataset", "train on a dataset with a flipped byte", ("train", "{cfg}", "--out", "{out}", "dataset={ds}"),
         "{ds}/data/main_data.hdf5: checksum mismatch in episode_0 (observations/observation): the file is corrupted", "",
         mutate=flipped_byte("episode_0/observations/observation")),
    Case("dataset", "obs_keys names a missing entry", ("train", "{cfg}", "--out", "{out}", "dataset={ds}", "obs_keys=[nope]"),
         "key 'obs_keys'", ""),
    # -- checkpoints and model configs (hirl eval loads models, hirl train resumes checkpoints)
    Case("checkpoint", "negative layer size", EVAL, f"{MODEL}: key 'hidden[0]'",
         mutate=json_edit(MODEL, config__hidden=[-5, 256])),
    Case("checkpoint", "huge layer sizes (4 TB)", EVAL, f"{MODEL}: key 'hidden[0]'",
         mutate=json_edit(MODEL, config__hidden=[1_000_000, 1_000_000])),
    Case("checkpoint", "layer sizes 65536 x 65536", EVAL, f"{MODEL}",
         mutate=json_edit(MODEL, config__hidden=[65_536, 65_536])),
    Case("checkpoint", "config not matching weights", EVAL, "models/flat/",
         mutate=json_edit(MODEL, config__hidden=[128, 128])),
    Case("checkpoint", "obs_keys empty", EVAL, f"{MODEL}: key 'obs_keys'", mutate=json_edit(MODEL, config__obs_keys=[])),
    Case("checkpoint", "obs_keys not strings", EVAL, f"{MODEL}: key 'obs_keys[0]'",
         mutate=json_edit(MODEL, config__obs_keys=[3])),
    Case("checkpoint", "obs_keys the env lacks", EVAL, "key 'obs_keys': the env has no observation 'nope'",
         mutate=json_edit(MODEL, config__obs_keys=["nope"])),
    Case("checkpoint", "config.json truncated", EVAL, f"{MODEL}",
         mutate=lambda run: (run / MODEL).write_text((run / MODEL).read_text()[:40])),
    Case("checkpoint", "NaN in the weights", EVAL, "weights.safetensors: tensor", mutate=nan_weight),
    Case("checkpoint", "checkpoint step 10**30", RESUME, f"{CKPT}: key 'step'", mutate=json_edit(CKPT, step=10**30)),
    Case("checkpoint", "checkpoint step beyond max_steps", RESUME, f"{CKPT}: key 'step'",
         mutate=json_edit(CKPT, step=1000)),
    Case("checkpoint", "checkpoint a pickle (checksums forged)", RESUME, "unreadable checkpoint (UnpicklingError)",
         mutate=pickled_checkpoint, subprocess=True),  # a subprocess: torch's warning would reach stderr there
    Case("checkpoint", "weights truncated", EVAL, "weights.safetensors",
         mutate=lambda run: (run / "models/flat/weights.safetensors").write_bytes(b"\x10")),
    Case("checkpoint", "checkpoint step 'lots'", RESUME, f"{CKPT}: key 'step'", mutate=json_edit(CKPT, step="lots")),
    Case("checkpoint", "checkpoint sha256 a number", RESUME, "train/flat/", mutate=json_edit(CKPT, sha256=5)),
    Case("checkpoint", "checkpoint rng garbage", RESUME, "train/flat/", mutate=json_edit(CKPT, rng="x")),
]


class Workspace:
    """The valid inputs the cases start from, made once per module: a 2-episode Tabletop dataset and a trained run."""

    def __init__(self, root: Path, pythonpath: str | None = None) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.tt = root / "tt"
        self.run = root / "run"
        cfg = root / "run.yaml"
        cfg.write_text(RUN_YAML.format(tt=self.tt))
        for argv in (["collect", *TT, "--out", str(self.tt)], ["train", str(cfg), "--out", str(self.run)]):
            rc, err = run_cli(argv, pythonpath is not None, pythonpath)  # the inputs of the hirl under test
            assert rc == 0, err

    def prepare(self, case: Case, where: Path) -> tuple[list[str], str, Path]:
        """(argv, expected text, the {out} path) of case, its files made under the fresh folder where."""
        where.mkdir(parents=True)
        names = {"out": str(where / "out"), "file": str(where / "a_file"), "tt": str(self.tt), "cfg": str(where / "cfg.yaml"),
                 "ds": str(where / "ds"), "run": str(self.run), "newdata": str(where / "newdata")}
        (where / "a_file").write_text("not a folder\n")
        os.mkfifo(where / "a_fifo")  # a non-regular file: never opened, never replaced
        names["fifo"] = str(where / "a_fifo")
        if case.name == "5 MB config file":
            write_big(where / "cfg.yaml")
        elif case.config is not None:
            base = "" if case.whole_file else without_keys(RUN_YAML.format(tt=self.tt), top_keys(case.config))
            (where / "cfg.yaml").write_text(base + fill(case.config, names))
        if "{ds}" in " ".join(case.argv):
            shutil.copytree(self.tt, where / "ds")
        if "{run}" in " ".join(case.argv):
            shutil.copytree(self.run, where / "run")
            names["run"] = str(where / "run")
        if case.mutate is not None:
            case.mutate(Path(names["ds"] if "{ds}" in " ".join(case.argv) else names["run"]))
        return [fill(a, names) for a in case.argv], fill(case.expect, names), where / "out"


def top_keys(yaml_text: str) -> set[str]:
    """The top-level keys a YAML text sets (lines starting in column 0 with `key:`)."""
    return {line.split(":", 1)[0] for line in yaml_text.splitlines() if line[:1].isalpha() and ":" in line}


def without_keys(yaml_text: str, keys: set[str]) -> str:
    """yaml_text without the top-level entries (and their indented lines) of keys: a case's config replaces them
    (duplicate keys are refused)."""
    out, skipping = [], False
    for line in yaml_text.splitlines(keepends=True):
        if line[:1].isalpha():
            skipping = line.split(":", 1)[0] in keys
        if not skipping:
            out.append(line)
    return "".join(out)


def fill(text: str, names: dict[str, str]) -> str:
    """text with each {name} replaced (str.format would trip on the braces of JSON arguments)."""
    for key, value in names.items():
        text = text.replace("{" + key + "}", value)
    return text


def run_cli(argv: list[str], subprocess_: bool, pythonpath: str | None = None, timeout: float = 120) -> tuple[int | str, str]:
    """(exit code -- or, past timeout, "accepted" when it printed progress, else "hang" --, stderr) of `hirl argv` in
    this process or a child."""
    if not subprocess_:
        from hirl.cli import main

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse
                rc = int(exc.code or 0)
        return rc, err.getvalue()
    env = dict(os.environ, MUJOCO_GL="egl", HF_HUB_OFFLINE="1")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    try:
        done = subprocess.run([sys.executable, "-m", "hirl.cli", *argv], capture_output=True, text=True, timeout=timeout,
                              env=env, cwd=pythonpath or str(ROOT))  # -m puts the cwd first on sys.path
    except subprocess.TimeoutExpired as exc:  # still running: "accepted" if it printed progress, else "hang"
        said = (exc.stdout or b"") + (exc.stderr or b"")
        return ("accepted" if said.strip() else "hang"), ""
    return done.returncode, done.stderr


def verdict(rc: int | str, stderr: str, expect: str, out: Path, case_untouched: bool = True) -> str:
    """clean | traceback | accepted | hang | unclear (exit 2 but not one line naming the input) | wrote --out."""
    lines = [line for line in stderr.splitlines() if line.strip() and "%|" not in line]  # tqdm bars are not errors
    if rc in ("hang", "accepted"):
        return str(rc)
    if "Traceback" in stderr or rc not in (0, 2):
        return "traceback"
    if rc == 0:
        return "accepted"
    if len(lines) != 1 or expect not in lines[0]:
        return "unclear"
    return "wrote --out" if out.exists() and case_untouched else "clean"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("bad_inputs"))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.area}: {c.name}" for c in CASES])
def test_bad_input_exits_2_with_one_line(case: Case, workspace: Workspace, tmp_path: Path) -> None:
    argv, expect, out = workspace.prepare(case, tmp_path / "case")
    rc, stderr = run_cli(argv, case.subprocess)
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert rc == 2 and len(lines) == 1, (rc, stderr)
    assert expect in lines[0], lines[0]
    assert not out.exists() or not case.out_untouched, f"{out} was written by a rejected command"


def probe_table(pythonpath: str | None) -> str:
    """Every case as a subprocess of the hirl on pythonpath (None: this tree): the Markdown table of docs/reliability.md."""
    import tempfile

    counts: dict[str, dict[str, int]] = {}
    details = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws", pythonpath)
        for i, case in enumerate(CASES):
            argv, expect, out = ws.prepare(case, Path(tmp) / f"case{i}")
            rc, stderr = run_cli(argv, True, pythonpath, timeout=60)
            v = verdict(rc, stderr, expect, out, case.out_untouched)
            row = counts.setdefault(case.area, {})
            row[v] = row.get(v, 0) + 1
            last = (stderr.strip().splitlines() or [""])[-1][:150]
            details.append(f"| {case.area} | {case.name} | {v} | {rc} | `{last}` |")
            print(details[-1], file=sys.stderr, flush=True)
    kinds = ["clean", "traceback", "hang", "accepted", "unclear", "wrote --out"]
    lines = ["| area | inputs tried | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 2) + "|"]
    for area, row in counts.items():
        lines.append(f"| {area} | {sum(row.values())} | " + " | ".join(str(row.get(k, 0)) for k in kinds) + " |")
    return "\n".join([*lines, "", "| area | input | verdict | exit | last stderr line |", "|---|---|---|---|---|", *details])


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    path = sys.argv[sys.argv.index("--pythonpath") + 1] if "--pythonpath" in sys.argv else None
    print(probe_table(path))


# -- kill -9 of `hirl train` (dataset collection included) at random moments, then the same command again
TRAIN_KILL_YAML = """env: hirl/Tabletop-v0
dataset: {data}
collect: {{episodes: 3, workers: 1, chain_length: 1}}
agents: [flat]
text_encoder: hash
paraphrase_augment: 0
train:
  baseline: {{max_steps: 20, batch_size: 8, eval_every: 4, checkpoint_every: 4, tensorboard: false, progress: false}}
"""


def kill_train_at_random_times(cfg: Path, run: Path, kills: int, seed: int, mid_training: bool = False) -> None:
    """Start `hirl train cfg --out run` kills times, each killed with SIGKILL at a random moment (seeded) of the
    ~8 s it takes (imports, collection, training, checkpoints); mid_training: just after the first checkpoint."""
    import random
    import signal
    import time

    rng = random.Random(seed)
    for _ in range(kills):
        proc = subprocess.Popen([sys.executable, "-m", "hirl.cli", "train", str(cfg), "--out", str(run)], cwd=str(ROOT),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                env=dict(os.environ, MUJOCO_GL="egl", HF_HUB_OFFLINE="1"))
        if mid_training:
            deadline = time.time() + 60
            while not (run / "train" / "flat" / "checkpoint.json").exists() and proc.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
        else:
            time.sleep(rng.uniform(2.0, 8.0))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def trained_weights(run: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(run / "models" / "flat" / "weights.safetensors"))


@pytest.mark.parametrize("kills", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_train_killed_at_random_times_resumes_to_the_asked_run(kills: int, tmp_path: Path) -> None:
    """Every kill leaves a run that `hirl train` finishes: the dataset holds exactly the asked episodes, the checkpoint
    is at max_steps, the model loads, and its weights equal an uninterrupted run's (training resumes bit-identically)."""
    from hirl.cli import main
    from hirl.data import load_dataset
    from hirl.policies.flat import FlatPolicy

    runs = {}
    for name, n in (("killed", kills), ("reference", 0)):
        cfg = tmp_path / f"{name}.yaml"
        cfg.write_text(TRAIN_KILL_YAML.format(data=tmp_path / f"{name}-data"))
        runs[name] = tmp_path / name
        kill_train_at_random_times(cfg, runs[name], n, seed=kills, mid_training=n == 1)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(["train", str(cfg), "--out", str(runs[name])]) == 0
        assert [e.index for e in load_dataset(tmp_path / f"{name}-data").episodes] == [0, 1, 2]
        assert json.loads((runs[name] / "train/flat/checkpoint.json").read_text())["step"] == 20
        FlatPolicy.load(runs[name] / "models" / "flat")
        assert not (runs[name] / ".lock").exists()
    a, b = trained_weights(runs["killed"]), trained_weights(runs["reference"])
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_model_is_checked_against_the_env_observation_space(workspace: Workspace) -> None:
    """PolicyModule.check_observation_space: the check an agent loader runs with the env at hand (obs_keys the env
    lacks, or that flatten to another obs_dim, are one InputError naming the model folder)."""
    import dataclasses

    from hirl.errors import InputError
    from hirl.integrations import adapter
    from hirl.policies.flat import FlatPolicy

    model = FlatPolicy.load(workspace.run / "models" / "flat")
    env = adapter("hirl/Tabletop-v0").make()
    model.check_observation_space(env.observation_space, "M")
    for keys, expected in ((("nope",), "M: key 'obs_keys': the env has no observation 'nope'"),
                           (("observation", "achieved_goal", "touch"), "M: key 'obs_dim'")):
        model.config = dataclasses.replace(model.config, obs_keys=keys)
        with pytest.raises(InputError, match=expected):
            model.check_observation_space(env.observation_space, "M")
    env.close()
