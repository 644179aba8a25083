"""High-level and low-level policies (interfaces in base.py)."""
from hirl.policies.base import HighLevelPolicy, LowLevelPolicy

__all__ = ["HighLevelPolicy", "LowLevelPolicy"]
