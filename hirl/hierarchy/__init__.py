"""The hierarchical runtime: agent, replan rules, completion detectors."""
from hirl.hierarchy.agent import HierarchicalAgent, TraceEntry
from hirl.hierarchy.completion import (
    ChainProgress,
    CompletionDetector,
    EnvPredicate,
    LearnedCompletion,
    NoisyDetector,
    StateDistance,
    SuccessClassifier,
)
from hirl.hierarchy.replan import (
    AnyOf,
    FixedInterval,
    OnCompletion,
    OnOverride,
    ReplanConfig,
    ReplanContext,
    ReplanRule,
    build_replan_rule,
)

__all__ = [
    "AnyOf", "ChainProgress", "CompletionDetector", "EnvPredicate", "FixedInterval", "HierarchicalAgent", "LearnedCompletion",
    "NoisyDetector", "OnCompletion", "OnOverride", "ReplanConfig", "ReplanContext", "ReplanRule", "StateDistance",
    "SuccessClassifier", "TraceEntry", "build_replan_rule",
]
