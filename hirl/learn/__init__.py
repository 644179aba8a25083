"""Learning: the one supervised trainer (trainer.py) and crash-safe checkpoints (checkpoint.py)."""
from hirl.learn.trainer import (
    ArraySampler, CsvLog, Trainer, TrainerConfig, TrainResult, array_batches, configure_torch_threads, to_device,
)

__all__ = [
    "ArraySampler",
    "CsvLog",
    "TrainResult",
    "Trainer",
    "TrainerConfig",
    "array_batches",
    "configure_torch_threads",
    "to_device",
]
