"""`hirl data info PATH`: what a dataset holds (episodes, steps, subgoal vocabulary, segments, images, size)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from hirl.data import schema
from hirl.data.dataset import load_dataset
from hirl.data.metadata import resolve


def size_on_disk(path: str | Path) -> int:
    """Bytes of the dataset's files (PATH/data)."""
    root = resolve(path) / schema.DATA_DIR
    return int(sum(p.stat().st_size for p in root.rglob("*") if p.is_file()))


def describe(path: str | Path) -> dict[str, Any]:
    """JSON-ready summary of the dataset at path (raises InputError on a bad dataset)."""
    ds = load_dataset(path)
    seg_len = np.array([int(e - s) for ep in ds.episodes for s, e in zip(ep.seg_start, ep.seg_end, strict=True)],
                       dtype=np.int64)
    vocab = Counter(str(ep.subgoal_text[s]) for ep in ds.episodes for s in ep.seg_start)
    sources = Counter(str(x) for ep in ds.episodes for x in ep.subgoal_source)
    meta = ds.meta
    return {
        "path": str(resolve(path)),
        "env_id": meta["env_id"],
        "env_kwargs": meta["env_kwargs"],
        "subgoal_kind": meta["subgoal_kind"],
        "episodes": len(ds),
        "steps": ds.num_steps,
        "success_rate": float(np.mean([ep.success for ep in ds.episodes])) if len(ds) else 0.0,
        "control_rate_hz": meta["control_rate_hz"],
        "image_rate_hz": meta["image_rate_hz"],
        "segments": int(seg_len.size),
        "segment_length": {"min": int(seg_len.min()), "mean": round(float(seg_len.mean()), 1),
                           "median": float(np.median(seg_len)),
                           "max": int(seg_len.max())} if seg_len.size else {},
        "vocabulary": dict(vocab.most_common()),
        "step_sources": dict(sources),
        "interventions": int(sum(int(ep.intervention.sum()) for ep in ds.episodes)),
        "images": int(sum(len(ep.frames) for ep in ds.episodes if ep.frames is not None)),
        "image_shape": next((list(ep.frames.shape[1:]) for ep in ds.episodes if ep.frames is not None), None),
        "predicates": len(meta["predicate_names"]),
        "checksummed_episodes": ds.checksummed_episodes,
        "size_bytes": size_on_disk(path),
        "hirl_version": meta["hirl_version"],
    }


def checksum_line(checksummed: int, episodes: int) -> str:
    """What `hirl data info` says about the dataset's checksums (hirl.data.checksums)."""
    if checksummed == episodes:
        return f"every array of all {episodes} episodes, verified (HDF5 fletcher32; SHA-256 on text)"
    if checksummed == 0:
        return "none (written before hirl stored checksums: a damaged byte would be read as data; collect again to add them)"
    return f"{checksummed} of {episodes} episodes, verified; the other {episodes - checksummed} carry none"


def format_info(d: dict[str, Any], max_vocab: int = 25) -> str:
    seg = d["segment_length"]
    images = f"   {'x'.join(map(str, d['image_shape']))} uint8 at {d['image_rate_hz']:g} Hz" if d["images"] else ""
    sources = ", ".join(f"{k}: {v} steps" for k, v in d["step_sources"].items())
    per_1000 = d["size_bytes"] / max(d["steps"], 1) * 1000 / 1e6
    lines = [
        f"dataset      {d['path']}",
        f"env          {d['env_id']} {d['env_kwargs'] or ''}".rstrip(),
        f"episodes     {d['episodes']}   (success rate {d['success_rate']:.3f})",
        f"steps        {d['steps']}   at {d['control_rate_hz']:g} Hz",
        f"segments     {d['segments']}   length min {seg.get('min')} / mean {seg.get('mean')} / "
        f"median {seg.get('median')} / max {seg.get('max')} steps",
        f"images       {d['images']}" + images,
        "sources      " + sources + f"   interventions {d['interventions']}",
        f"size         {d['size_bytes'] / 1e6:.2f} MB on disk ({per_1000:.2f} MB per 1000 steps)",
        "checksums    " + checksum_line(d["checksummed_episodes"], d["episodes"]),
        f"vocabulary   {len(d['vocabulary'])} {d['subgoal_kind']} subgoals (segments per label):",
    ]
    items = list(d["vocabulary"].items())
    width = max((len(k) for k, _ in items[:max_vocab]), default=0)
    lines += [f"  {k.ljust(width)}  {v}" for k, v in items[:max_vocab]]
    if len(items) > max_vocab:
        lines.append(f"  ... {len(items) - max_vocab} more")
    return "\n".join(lines)
