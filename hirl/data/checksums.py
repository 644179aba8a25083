"""Checksums on every array of a dataset's HDF5 file, so a damaged byte fails the read instead of training on it.

Numeric arrays carry HDF5's own fletcher32 filter (h5py `fletcher32=True`): HDF5 checks each chunk on every read
and a mismatch makes the read raise OSError. Variable-length strings cannot be filtered (their bytes live in the
file's global heap), so each string array carries the SHA-256 of its values in the attribute TEXT_DIGEST_ATTR,
checked by read_strings. Datasets written before hirl stored checksums have neither and still load.

    copy_with_checksums(minari_file, checked_file)    # the dataset writer's last step (hirl.data.assemble)
    read_array(node, where, episode)                  # (...) array; a checksum mismatch -> one-line InputError
    read_strings(node, where, episode)                # (N,) object array of str, digest checked when stored
    has_checksums(episode_group)                      # written with checksums?
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hirl.data import schema
from hirl.errors import InputError

TEXT_DIGEST_ATTR = "hirl_sha256"  # attribute of a string array: hex SHA-256 of its values (text_digest)
CORRUPTED = "the file is corrupted (collect the dataset again or restore a copy)"  # the advice of every mismatch


def text_digest(values: Any) -> str:
    """Hex SHA-256 of an array of str / bytes values (each UTF-8, prefixed by its length, in C order)."""
    h = hashlib.sha256()
    for v in np.asarray(values, dtype=object).reshape(-1):
        b = v.encode("utf-8", "surrogatepass") if isinstance(v, str) else bytes(v)
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _copy_dataset(src: h5py.Dataset, parent: h5py.Group, name: str) -> None:
    """src as parent[name]: numeric arrays under fletcher32 (same chunks, maxshape and dtype), string arrays with
    their digest, scalars (which HDF5 cannot chunk, hence not filter) as they are."""
    if src.shape is None or src.shape == ():
        parent.copy(src, name)
        return
    data = src[()]
    if h5py.check_string_dtype(src.dtype) is not None:
        dst = parent.create_dataset(name, data=data, dtype=src.dtype, chunks=src.chunks or True, maxshape=src.maxshape)
        dst.attrs[TEXT_DIGEST_ATTR] = text_digest(data)
    elif h5py.check_vlen_dtype(src.dtype) is not None:  # not written by hirl: kept as it is, no checksum to add
        parent.copy(src, name)
        return
    else:
        dst = parent.create_dataset(name, data=data, dtype=src.dtype, chunks=src.chunks or True, maxshape=src.maxshape,
                                    fletcher32=True)
    for key, value in src.attrs.items():
        dst.attrs[key] = value


def _copy_group(src: h5py.Group, dst: h5py.Group) -> None:
    for key, value in src.attrs.items():
        dst.attrs[key] = value
    for name, node in src.items():
        if isinstance(node, h5py.Group):
            _copy_group(node, dst.create_group(name, track_order=True))
        else:
            _copy_dataset(node, dst, name)


def copy_with_checksums(src: str | Path, dst: str | Path) -> None:
    """Write the HDF5 file src (as Minari wrote it) to dst (a new file) with the same groups, arrays and attributes
    in the same order, every array carrying its checksum."""
    with h5py.File(src, "r") as fin, h5py.File(dst, "w", track_order=True) as fout:
        _copy_group(fin, fout)


def has_checksums(group: h5py.Group) -> bool:
    """Whether the episode group was written with checksums (its actions array carries fletcher32)."""
    node = group.get("actions")
    return isinstance(node, h5py.Dataset) and bool(node.fletcher32)


def _inside(node: h5py.Dataset, episode: str) -> str:
    """node's path inside its episode group ("infos/segment")."""
    path = str(node.name).lstrip("/")
    return path.removeprefix(episode + "/")


def mismatch(where: Any, node: h5py.Dataset, episode: str) -> InputError:
    """The one-line error for a checksum that does not match in node of episode (file where)."""
    return schema.dataset_failure(where, f"checksum mismatch in {episode} ({_inside(node, episode)}): {CORRUPTED}")


def read_array(node: h5py.Dataset, where: Any, episode: str) -> np.ndarray:
    """node's values; a chunk whose fletcher32 checksum fails (or any unreadable chunk) is one InputError naming the
    file, episode and array."""
    try:
        return np.asarray(node[()])
    except OSError as exc:
        if node.fletcher32:
            raise mismatch(where, node, episode) from None
        raise schema.dataset_failure(where, f"{episode}: {_inside(node, episode)} is unreadable, the file is truncated or "
                                            f"corrupt ({str(exc)[:120]})") from None


def read_strings(node: h5py.Dataset, where: Any, episode: str) -> np.ndarray:
    """node's values as an object array of str, checked against its stored digest (when it has one)."""
    raw = read_array(node, where, episode)
    stored = node.attrs.get(TEXT_DIGEST_ATTR)
    if stored is not None and text_digest(raw) != (stored.decode() if isinstance(stored, bytes) else str(stored)):
        raise mismatch(where, node, episode)
    try:
        return np.asarray([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in raw.reshape(-1)],
                          dtype=object).reshape(raw.shape)
    except UnicodeDecodeError:
        raise schema.dataset_failure(where, f"{episode}: {_inside(node, episode)} holds text that is not UTF-8: "
                                            f"{CORRUPTED}") from None
