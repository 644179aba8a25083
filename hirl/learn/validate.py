"""validate(cfg): the names an imitation run config looks up in registries (agents, text encoder, replan rule and
detector) and the checks that need the env's adapter, as FieldError naming the key.

RunConfig's constructor checks only its own fields, so building a config imports nothing it names; the commands
validate through the run kind (hirl.runs.kinds.RunKind.read_config -> ImitationKind.validate), and training does
again before any work (hirl.learn.run.check_before_work). Only the named agents' modules are imported.
"""
from __future__ import annotations

from hirl.config import FieldError
from hirl.errors import InputError
from hirl.learn.adapt import adaptable_agents
from hirl.learn.components import ImitationComponent
from hirl.learn.run_config import RunConfig
from hirl.registry import ENCODERS
from hirl.runs.agents import AGENTS, component, recipe


def trainable(name: str) -> bool:
    """True when an imitation run can train agent `name`: every component it needs is an imitation component (an
    agent whose module cannot be imported, e.g. an RL agent without its extra, is not)."""
    try:
        r = recipe(name)
        return r.trainable and bool(r.components) and all(
            isinstance(component(c), ImitationComponent) for c in r.components)
    except InputError:
        return False


def trainable_agents() -> list[str]:
    """The registered agents an imitation run can train (imports every agent's module: for messages and tests)."""
    return [a for a in AGENTS.names() if trainable(a)]


def validate(cfg: RunConfig) -> None:
    """FieldError naming the key of the first name in cfg that no registry knows or that cannot work together."""
    import hirl.encoders  # noqa: F401  (registers the text encoders)

    unknown = [a for a in cfg.agents if a not in AGENTS or not trainable(a)]
    if unknown:
        raise FieldError("agents", f"unknown {unknown} (known: {', '.join(trainable_agents())})")
    encoders = ENCODERS.names()
    if cfg.text_encoder not in encoders:
        raise FieldError("text_encoder", f"unknown text encoder {cfg.text_encoder!r} (known: {', '.join(encoders)})")
    try:
        cfg.replan.validate()
    except FieldError as exc:
        raise FieldError(f"replan.{exc.field}", exc.problem) from None
    if cfg.adapt.enabled and not adaptable_agents(cfg):
        raise FieldError("adapt.enabled", f"none of agents {cfg.agents} is a two-level hierarchy whose subgoals the env's "
                                          f"scripted expert labels (e.g. hier_language on Tabletop, hier_state on the maze)")
    seeing = [a for a in cfg.agents if recipe(a).renders()]
    if seeing and cfg.collect.image_every < 1:
        raise FieldError("collect.image_every", f"agents {', '.join(seeing)} need images: set collect.image_every >= 1")
