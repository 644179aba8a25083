"""Demonstration datasets: Minari-compatible storage, parallel collection, segments, hindsight relabeling.

The on-disk format is described in hirl/data/schema.py; docs/datasets.md has the guide."""
from hirl.data.dataset import (
    Dataset,
    Episode,
    HighLevelBatch,
    LowLevelBatch,
    Segment,
    load_dataset,
    read_metadata,
)
from hirl.data.relabel import HindsightConfig, LanguageRelabel, hindsight_indices, hindsight_language, relabel_indices

__all__ = [
    "Dataset", "Episode", "HighLevelBatch", "HindsightConfig", "LanguageRelabel", "LowLevelBatch", "Segment",
    "hindsight_indices", "hindsight_language", "load_dataset", "read_metadata", "relabel_indices",
]
