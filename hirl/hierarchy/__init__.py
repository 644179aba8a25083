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
    AnyOfConfig,
    FixedInterval,
    FixedIntervalConfig,
    OnCompletion,
    OnCompletionConfig,
    OnOverride,
    ProposedSubgoalRule,
    ReplanConfig,
    ReplanContext,
    ReplanRule,
    ReplanSpec,
    RuleConfig,
    build_replan_rule,
)

__all__ = [
    "AnyOf", "AnyOfConfig", "ChainProgress", "CompletionDetector", "EnvPredicate", "FixedInterval",
    "FixedIntervalConfig", "HierarchicalAgent", "LearnedCompletion", "NoisyDetector", "OnCompletion",
    "OnCompletionConfig", "OnOverride", "ProposedSubgoalRule", "ReplanConfig", "ReplanContext", "ReplanRule",
    "ReplanSpec", "RuleConfig", "StateDistance", "SuccessClassifier", "TraceEntry", "build_replan_rule",
]
