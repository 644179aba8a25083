"""Experiment tracking: one Tracker interface (TensorBoard, optional W&B), rollout evaluation during training through
run_episode, and the annotated video frames shared with `hirl eval`'s MP4s."""
from hirl.tracking.rollouts import RolloutResult, RolloutSource, log_rollouts, rollouts
from hirl.tracking.trackers import (TensorBoardTracker, Tracker, Trackers, TrackingConfig, WandbTracker, gif_bytes,
                                    import_wandb, make_tracker, truncate_events)

__all__ = ["RolloutResult", "RolloutSource", "TensorBoardTracker", "Tracker", "Trackers", "TrackingConfig",
           "WandbTracker", "gif_bytes", "import_wandb", "log_rollouts", "make_tracker", "rollouts", "truncate_events"]
