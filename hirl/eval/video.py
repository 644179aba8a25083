"""MP4 writing of evaluation videos. The frames and their overlays (command, subtasks ticked off, active subgoal,
goal image, outcome) come from hirl.tracking.frames (EpisodeFilm), shared with the videos written to TensorBoard /
W&B during training."""
from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from hirl.fileio import temp_file_beside


def write_mp4(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write frames ((H, W, 3) uint8, all of one size) as an H.264 MP4, atomically (temp file + rename)."""
    import imageio.v2 as imageio

    if not frames:
        raise ValueError(f"{path}: no frames to write")
    sizes = {np.shape(f) for f in frames}
    if len(sizes) > 1:
        raise ValueError(f"{path}: frames of different sizes {sorted(sizes)}")
    path = Path(path)
    fd, tmp = temp_file_beside(path, suffix=".mp4")
    os.close(fd)
    try:
        writer = imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7, macro_block_size=1, format="FFMPEG")
        with writer:  # (not `as writer`: imageio's stub types __enter__ as the base class, without append_data)
            for f in frames:
                writer.append_data(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = ["write_mp4"]
