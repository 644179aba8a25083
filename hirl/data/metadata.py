"""Finding a dataset on disk and reading its metadata.json (Minari's metadata plus the "hirl" section)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from hirl.config import ConfigError, read_json
from hirl.data import schema
from hirl.errors import InputError


def resolve(path: str | Path) -> Path:
    """The dataset directory (the one holding data/) for PATH, PATH/data or PATH/data/main_data.hdf5."""
    p = Path(path)
    if not p.exists():
        raise InputError(schema.dataset_error(p, "no such file or directory"))
    if p.is_file():
        p = p.parent
    if p.name == schema.DATA_DIR and (p / schema.METADATA_FILE).exists():
        return p.parent
    if not (p / schema.DATA_DIR / schema.METADATA_FILE).exists():
        if (p / schema.JOURNAL_DIR).is_dir():
            raise InputError(schema.dataset_error(
                p, "unfinished collection with no assembled dataset yet (run hirl collect --resume)"))
        raise InputError(schema.dataset_error(p, f"not a Minari dataset ({schema.DATA_DIR}/{schema.METADATA_FILE} missing)"))
    return p


def read_minari_metadata(path: str | Path) -> dict[str, Any]:
    """metadata.json of the dataset at path, checked to be a hirl HDF5 dataset."""
    root = resolve(path)
    meta_file = root / schema.DATA_DIR / schema.METADATA_FILE
    try:
        meta = read_json(meta_file, "dataset metadata")
    except ConfigError as exc:
        detail = str(exc).split(": ", 1)[-1].removeprefix("corrupt dataset metadata ").strip("()")
        raise InputError(schema.dataset_error(meta_file, f"metadata is corrupt ({detail})")) from None
    if not isinstance(meta, dict):
        raise InputError(schema.dataset_error(meta_file, "metadata is corrupt (not a JSON object)"))
    if meta.get("data_format") != "hdf5":
        raise InputError(schema.dataset_error(
            meta_file, f"unsupported data format {meta.get('data_format')!r} (hirl writes hdf5)"))
    schema.check_meta(meta.get(schema.HIRL_KEY), meta_file)
    return meta


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata["hirl"] section (env id, rates, collection config, ...) of the dataset at path."""
    return read_minari_metadata(path)[schema.HIRL_KEY]
