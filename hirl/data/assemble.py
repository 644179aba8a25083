"""Journal records -> the Minari HDF5 dataset at OUT/data, built aside and swapped in whole.

    write_dataset(out, (journal.read(i) for i in journal.done()), meta=..., observation_space=..., action_space=...)

The format is described in hirl/data/schema.py."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from hirl.data import schema
from hirl.data.swap import swap_in

ASSEMBLE_PREFIX = ".assemble-"  # OUT/.assemble-*: a dataset being built (a killed build's is removed by the next one)


def dataset_id_for(path: str | Path) -> str:
    """Minari dataset id stored in metadata: the directory name if it is a valid id with a version, else name-v0."""
    name = re.sub(r"[^-_\w]", "_", Path(path).resolve().name) or "dataset"
    return name if re.fullmatch(r"[-_\w]+?-v\d+", name) else f"{name}-v0"


def _buffer(record: Mapping[str, Any]) -> Any:
    from minari.data_collector import EpisodeBuffer

    def as_list(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: as_list(v) for k, v in x.items()}
        return list(x) if isinstance(x, np.ndarray) else x

    return EpisodeBuffer(
        id=None, seed=record["seed"], options=record["options"], observations=as_list(record["observations"]),
        actions=list(record["actions"]), rewards=list(record["rewards"]), terminations=list(record["terminations"]),
        truncations=list(record["truncations"]), infos=as_list(record["infos"]),
    )


@contextlib.contextmanager
def _datasets_root(root: Path) -> Iterator[None]:
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _add_checksums(h5: Path) -> None:
    """Replace the HDF5 file Minari wrote by its copy with checksums on every array (hirl.data.checksums)."""
    from hirl.data.checksums import copy_with_checksums

    checked = h5.with_name(h5.name + ".checked")
    copy_with_checksums(h5, checked)
    os.replace(checked, h5)


def write_dataset(
    out: str | Path,
    records: Iterable[Mapping[str, Any]],
    *,
    meta: Mapping[str, Any],
    observation_space: gym.Space,
    action_space: gym.Space,
    env_spec: gym.envs.registration.EnvSpec | None = None,
) -> Path:
    """Write records (journal dicts, in dataset order) as the Minari dataset at out/data; returns out.

    The dataset is built in a temporary directory inside `out` and swapped in whole (atomic exchange when the
    OS supports it), so `out/data` is always either the previous complete dataset or the new one. Every array of
    every episode carries a checksum that the loader verifies (hirl.data.checksums).
    meta: the metadata["hirl"] section without episode_indices / predicate_names (filled in here)."""
    import minari

    out = Path(out).absolute()  # Minari joins MINARI_DATASETS_PATH with relative paths inconsistently
    out.mkdir(parents=True, exist_ok=True)
    dataset_id = dataset_id_for(out)
    tmp_root = Path(tempfile.mkdtemp(prefix=ASSEMBLE_PREFIX, dir=out))
    episode_attrs: list[dict[str, Any]] = []
    indices: list[int] = []
    predicate_names: list[list[str]] = []

    def buffers() -> Iterator[Any]:
        for record in records:
            indices.append(int(record["index"]))
            predicate_names.append(list(record.get("predicate_names", [])))
            episode_attrs.append(schema.stored_attrs(int(record["index"]), record.get("attrs", {})))
            yield _buffer(record)

    try:
        with _datasets_root(tmp_root), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = minari.create_dataset_from_buffers(
                dataset_id, buffers(), env=None, observation_space=observation_space, action_space=action_space,
                algorithm_name=str(meta.get("collection", {}).get("policy", "hirl")), author="hirl", author_email="n/a",
                code_permalink="n/a", description=f"hirl demonstrations on {meta.get('env_id')}", data_format="hdf5",
                jpeg_encoding=False,
            )
        names = predicate_names[0] if predicate_names else []
        if any(n != names for n in predicate_names):
            raise ValueError("episodes disagree on the env's predicate names (info['subtask_success'] keys)")
        if episode_attrs:
            ds.storage.update_episode_metadata(episode_attrs)
        data_dir = tmp_root / dataset_id / schema.DATA_DIR
        _add_checksums(data_dir / schema.MAIN_FILE)
        hirl_meta = dict(meta)
        hirl_meta.update(schema_version=schema.SCHEMA_VERSION, predicate_names=names, episode_indices=indices)
        extra: dict[str, Any] = {schema.HIRL_KEY: schema.to_json_safe(hirl_meta), "dataset_size": ds.storage.get_size()}
        if env_spec is not None:
            try:
                extra["env_spec"] = env_spec.to_json()
            except (TypeError, ValueError):
                pass
        ds.storage.update_metadata(extra)
        swap_in(data_dir, out / schema.DATA_DIR, tmp_root)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return out
