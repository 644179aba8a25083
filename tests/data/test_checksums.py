"""Dataset checksums (hirl.data.checksums): every array an episode stores carries one, a flipped byte is one line
naming the file and episode from load_dataset (the training path) and from `hirl data info`, and a dataset written
before checksums still loads and says it has none."""
from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from hirl.cli import main
from hirl.data import load_dataset
from hirl.data import assemble
from hirl.data.checksums import TEXT_DIGEST_ATTR
from hirl.data.info import describe, format_info
from hirl.errors import InputError
from tests.data.test_dataset import META, toy_records
from tests.fixtures.corrupt import flip_data_byte, flip_heap_byte


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    path = tmp_path_factory.mktemp("ck") / "toy"
    env, records = toy_records(3)
    assemble.write_dataset(path, iter(records), meta=META, observation_space=env.observation_space,
                           action_space=env.action_space)
    return path, records


def copy(written: tuple[Path, list[dict]], where: Path) -> Path:
    shutil.copytree(written[0], where)
    return where


def info_cli(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["data", "info", str(path)])
    return rc, out.getvalue(), err.getvalue()


def test_every_array_of_every_episode_carries_a_checksum(written):
    path, records = written
    with h5py.File(path / "data" / "main_data.hdf5", "r") as f:
        arrays: list[h5py.Dataset] = []
        for name in f:
            f[name].visititems(lambda _, node: arrays.append(node) if isinstance(node, h5py.Dataset) else None)
        assert len(arrays) > 3 * 10
        unchecked = [a.name for a in arrays if not (a.fletcher32 or TEXT_DIGEST_ATTR in a.attrs)]
        assert unchecked == []
    ds = load_dataset(path)  # the values are the records' (the checksummed copy changed nothing)
    assert ds.checksummed_episodes == 3
    for ep, r in zip(ds.episodes, records, strict=True):
        np.testing.assert_array_equal(ep.actions, r["actions"])
        assert list(ep.subgoal_text) == r["infos"]["subgoal_text"][:-1]


@pytest.mark.parametrize("array", ["actions", "observations/observation", "infos/segment"])
def test_a_flipped_byte_is_one_line_from_the_loader_and_data_info(written, tmp_path, array):
    path = copy(written, tmp_path / "ds")
    h5 = path / "data" / "main_data.hdf5"
    flip_data_byte(h5, f"episode_1/{array}")
    expected = f"dataset {h5}: checksum mismatch in episode_1 ({array}): the file is corrupted"
    with pytest.raises(InputError) as exc:
        load_dataset(path, images=False)
    assert str(exc.value).startswith(expected) and "\n" not in str(exc.value)
    rc, out, err = info_cli(path)
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1 and expected in err


def test_a_flipped_byte_in_stored_text_is_caught_by_its_digest(written, tmp_path):
    path = copy(written, tmp_path / "ds")
    h5 = path / "data" / "main_data.hdf5"
    with h5py.File(h5, "r") as f:
        label = f["episode_0/infos/subgoal_text"].asstr()[0]
    flip_heap_byte(h5, label)
    with pytest.raises(InputError, match=r"checksum mismatch in episode_0 \(infos/subgoal_text\): the file is corrupted"):
        load_dataset(path)


def test_a_dataset_written_without_checksums_loads_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(assemble, "_add_checksums", lambda h5: None)  # the writer before checksums
    env, records = toy_records(2)
    path = assemble.write_dataset(tmp_path / "old", iter(records), meta=META, observation_space=env.observation_space,
                                  action_space=env.action_space)
    ds = load_dataset(path)
    assert len(ds) == 2 and ds.checksummed_episodes == 0
    assert "checksums    none (written before hirl stored checksums" in format_info(describe(path))
    flip_data_byte(path / "data" / "main_data.hdf5", "episode_1/actions")
    load_dataset(path)  # what checksums are for: without them, the damage is read as data


def test_data_info_reports_the_checksums(written):
    rc, out, err = info_cli(written[0])
    assert rc == 0 and err == ""
    assert "checksums    every array of all 3 episodes, verified" in out
