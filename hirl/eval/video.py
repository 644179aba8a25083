"""MP4 writing of evaluation videos. The frames and their overlays (command, active subgoal, goal image) come from
hirl.tracking.frames, shared with the videos written to TensorBoard / W&B during training; annotate and
annotated_frame are re-exported here."""
from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Sequence

import numpy as np

from hirl.fileio import temp_file_beside
from hirl.tracking.frames import annotate, annotated_frame, pad_frames


def write_mp4(path: str | Path, frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write frames ((H, W, 3) uint8) as an H.264 MP4, atomically (temp file + rename). Frames of different
    sizes (a caption that wraps onto more lines) are padded at the bottom/right to the largest one."""
    import imageio.v2 as imageio

    if not frames:
        raise ValueError(f"{path}: no frames to write")
    frames = pad_frames(frames)
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


__all__ = ["annotate", "annotated_frame", "write_mp4"]
