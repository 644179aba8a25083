"""Demonstration datasets: Minari-compatible storage, parallel collection, segments, hindsight relabeling.

The on-disk format is described in hirl/data/schema.py; docs/datasets.md has the guide. The training tables
are built by hirl.data.tables."""
from hirl.data.dataset import Dataset, load_dataset
from hirl.data.episode import Episode
from hirl.data.metadata import read_metadata
from hirl.data.relabel import HindsightConfig, LanguageRelabel, hindsight_indices, hindsight_language, relabel_indices
from hirl.data.segments import Segment

__all__ = [
    "Dataset", "Episode", "HindsightConfig", "LanguageRelabel", "Segment",
    "hindsight_indices", "hindsight_language", "load_dataset", "read_metadata", "relabel_indices",
]
