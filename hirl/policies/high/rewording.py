"""Rewording a high level's language: the same policy, its words changed on the way in or out.

    high = Rephrasing(expert_high, {"open the drawer": "yank the drawer open"}.get)   # every proposal reworded
    high = CommandRewording(language_high, held_out)   # the command given as a person would type it, reworded

A Wording maps an instruction to the text to use instead (None: unchanged): the env's held-out paraphrases, one
variant of `hirl eval --instruction-map`, or either grounded to a known skill (the agents of hirl/runs/recipes.py).
A Rephrasing's replan rule judges what it proposed, not its rewording: hirl.hierarchy.replan.ProposedSubgoalRule."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hirl.encoders.commands import command_subtasks
from hirl.policies.base import HighLevelPolicy, HighLevelWrapper
from hirl.types import Command, Subgoal

Wording = Callable[[str], "str | None"]  # instruction the high level proposed -> the text to emit (None: unchanged)


class CommandRewording(HighLevelWrapper):
    """A high level given each command as text only, every subtask reworded (wording None: unchanged) and joined
    with ", then " — the command a person would type, without the env's decomposition."""

    def __init__(self, inner: HighLevelPolicy, wording: Wording) -> None:
        super().__init__(inner)
        self.wording = wording
        self._cache: dict[Command, Command] = {}

    def propose(self, obs: Any, command: Command) -> Subgoal:
        said = self._cache.get(command)
        if said is None:
            parts = [self.wording(t) or t for t in command_subtasks(command)]
            said = self._cache[command] = Command(", then ".join(parts))
        return self.inner.propose(obs, said)


class Rephrasing(HighLevelPolicy):
    """A language high level whose every proposal is reworded: Subgoal(text) -> Subgoal(wording(text)) (same source
    and label; wording None: the proposal itself). Remembers the last proposal behind the subgoal it emitted, so the
    replan rule can judge that one (ProposedSubgoalRule)."""

    def __init__(self, high: HighLevelPolicy, wording: Wording) -> None:
        self.high, self.wording = high, wording
        self._last: tuple[Subgoal, Subgoal] | None = None  # (emitted, proposed) of the last proposal

    def reset(self) -> None:
        self.high.reset()
        self._last = None

    def propose(self, obs: Any, command: Command) -> Subgoal:
        g = self.high.propose(obs, command)
        text = self.wording(str(g.value)) if g.kind == "language" else None
        emitted = g if text is None else Subgoal("language", text, g.source, g.label)
        self._last = (emitted, g)
        return emitted

    def observe(self, subgoal: Subgoal) -> None:
        self.high.observe(subgoal)

    def completed(self, subgoal: Subgoal) -> None:
        self.high.completed(self.proposed(subgoal))

    def refused(self, subgoal: Subgoal, why: str) -> None:
        self.high.refused(self.proposed(subgoal), why)

    def proposed(self, subgoal: Subgoal) -> Subgoal:
        """The proposal behind an emitted subgoal (the subgoal itself when this high level did not emit it)."""
        return self._last[1] if self._last is not None and self._last[0] is subgoal else subgoal
