"""One Ctrl-C ends `hirl correct --ui web`: what was recorded is written (no fine-tune), the page does not linger on a
closed port, and the command says how to continue. The session and server are stand-ins; the command's flow is real."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from hirl.commands import correct


class FakeServer:
    url = "http://127.0.0.1:1/"

    def __init__(self) -> None:
        self.session: Any = None
        self.closed = 0
        self.finish_requested = self

    def serve_in_thread(self) -> None:
        pass

    def wait(self, timeout: float) -> bool:
        raise KeyboardInterrupt  # the person presses Ctrl-C while the page runs

    def shutdown(self) -> None:
        self.closed += 1

    def server_close(self) -> None:
        pass


class FakeSession:
    error = None

    def __init__(self) -> None:
        self.finished_with: list[bool] = []

    def start(self) -> None:
        pass

    def finish(self, retrain: bool, why_not: str = "") -> dict[str, Any]:
        self.finished_with.append(retrain)
        return {"summary": {"episodes": 1, "corrections": 2, "corrections_per_episode": 2.0, "dataset": "D",
                            "takeovers": 0, "takeover_seconds": 0, "attention_seconds": 60.0}}

    def close(self) -> None:
        pass


def test_one_ctrl_c_saves_without_fine_tuning_and_does_not_linger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    server, session = FakeServer(), FakeSession()
    monkeypatch.setattr(correct, "bind", lambda args, cfg: server)
    monkeypatch.setattr("hirl.teleop.sessions.session.CorrectionSession.open", lambda *a, **k: session)
    monkeypatch.setattr("hirl.teleop.ui.server.check_bind", lambda *a: None)
    slept: list[float] = []
    monkeypatch.setattr(correct.time, "sleep", lambda s: slept.append(s))
    args = argparse.Namespace(run=str(tmp_path / "run"), out=str(tmp_path / "session"), ui="web", host="127.0.0.1",
                              port=0, token=None, config=None, overrides=[], autostart=False, no_retrain=False)
    assert correct.run(args) == 0
    out = capsys.readouterr().out
    assert session.finished_with == [False]  # the dataset is written, nothing is fine-tuned
    assert not any(s >= 1 for s in slept) and server.closed >= 1  # no 600 s wait for a page on a closed port
    assert "interrupted" in out and f"--out {tmp_path / 'session'}" in out and "2 corrections" in out
