"""`hirl export RUN AGENT --out DIR`: a trained agent as TorchScript networks plus a standalone loader.

    summary = export_agent("runs/demo/run", "hier_language", "exported/")

DIR then holds (read by DIR/hirl_policy.py, which needs torch and numpy only):
    manifest.json     format, agent, kind (hierarchical | flat), observation {keys, shapes, dim}, action {shape, low,
                      high}, goal_kind, instructions (what the high level chooses from), command (how a command splits
                      into subtasks), replan (on_completion, timeout, interval), networks {name: file}
    texts.json + embeddings.npy   every instruction the policy knows and its (E,) embedding by the run's text encoder:
                      the high level's candidates, the subtasks of the run dataset's commands and of --instruction texts
    high.pt, low.pt   (hierarchical) TorchScript: high(obs (1, S), command_emb (1, K, E), command_mask (1, K) bool,
                      prev_emb (1, E)) -> logits (1, N) over instructions; low(obs (1, S), goal_emb (1, E)) -> (1, 1, A)
    flat.pt           (flat) TorchScript: flat(obs (1, S), command_emb, command_mask) -> (1, 1, A)
    hirl_policy.py    the loader (hirl.export.hirl_policy, copied)

The observation normalisers and text centerings are buffers of the traced networks. Exportable: EXPORTABLE (language
hierarchies and flat policies with a single-step action head); any other agent is one InputError line saying why."""
from __future__ import annotations

import shutil
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hirl.encoders.commands import SUBTASK_SPLIT, SUBTASK_STRIP, command_subtasks
from hirl.errors import InputError
from hirl.fileio import atomic_write_json, atomic_write_text
from hirl.hierarchy import HierarchicalAgent
from hirl.hierarchy.replan import ReplanConfig
from hirl.policies.flat import FlatAgent
from hirl.policies.high.language import LanguageHighLevel
from hirl.policies.low.bc import BCLowLevel
from hirl.version import __version__

FORMAT = 1  # manifest layout (hirl_policy.FORMAT reads it)
EXPORTABLE = ("hier_language", "flat")  # agents hirl export writes (each also +adapt)
LOADER = Path(__file__).with_name("hirl_policy.py")  # the standalone loader copied into DIR


class _Flat(nn.Module):
    """FlatPolicy with its trained head: (obs, command_emb, command_mask) -> (1, 1, A)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor) -> torch.Tensor:
        return self.model(obs, command_emb, command_mask)


class _High(nn.Module):
    """LanguageGoalNet: (obs, command_emb, command_mask, prev_emb) -> logits (1, N) over its candidates."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, obs: torch.Tensor, command_emb: torch.Tensor, command_mask: torch.Tensor,
                prev_emb: torch.Tensor) -> torch.Tensor:
        return self.model(obs, command_emb, command_mask, prev_emb)


class _Low(nn.Module):
    """GoalConditionedBC on language goals: (obs, goal_emb) -> (1, 1, A)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, obs: torch.Tensor, goal_emb: torch.Tensor) -> torch.Tensor:
        return self.model(obs, goal_emb)


def _trace(module: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path) -> None:
    """torch.jit.trace module on inputs (batch 1), checked against eager on the same inputs, saved at path."""
    module = module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates TorchScript; it still loads anywhere
        traced = torch.jit.trace(module, inputs, check_trace=False)
        if not torch.allclose(traced(*inputs), module(*inputs), atol=1e-6):
            raise RuntimeError(f"{path.name}: the traced network disagrees with the eager one")
    traced.save(str(path))


def _single_step(agent_name: str, config: Any, what: str) -> None:
    head = config.head
    if not head.single_step or head.kind == "diffusion":
        raise InputError(f"agent {agent_name!r}: its {what} has head {head.kind} (horizon {head.horizon}, history "
                         f"{head.history}); hirl export writes single-step heads (head.horizon 1, head.history 1) only")


def instruction_texts(candidates: Sequence[str], commands: Sequence[str]) -> list[str]:
    """The candidates, then the subtasks of every command not among them, in first-seen order."""
    texts = dict.fromkeys(candidates)
    for c in commands:
        texts.update(dict.fromkeys(command_subtasks(c)))
    return list(texts)


def dataset_commands(cfg: Any) -> list[str]:
    """The commands of the run's dataset ([] when it is gone)."""
    from hirl.data.dataset import load_dataset

    path = Path(getattr(cfg, "dataset", "") or "")
    if not (path / "data").is_dir():
        return []
    return list(load_dataset(path, images=False).commands)


def export_agent(run: str | Path, agent_name: str, out: str | Path, instructions: Sequence[str] = ()) -> dict[str, Any]:
    """Write agent `agent_name` of the trained run as TorchScript + manifest + loader into out; returns the manifest.
    instructions: further commands / instructions whose subtask embeddings the export must hold."""
    from hirl.runs import RunDir
    from hirl.runs.agents import load_agent, parse_agent_name
    from hirl.runs.kinds import run_kind

    base, _ = parse_agent_name(agent_name)
    if base not in EXPORTABLE:
        raise InputError(f"agent {agent_name!r} is not exportable: hirl export writes {', '.join(EXPORTABLE)} (each also "
                         "+adapt); others need the env's simulator, an SB3 model or non-network state")
    run_dir = RunDir(run).require()
    kind = run_kind(run_dir.kind())
    cfg = kind.load_config(run_dir)
    env = kind.make_env(cfg)
    try:
        agent = load_agent(run_dir, agent_name, env, cfg=cfg)
        spaces: Any = env.observation_space
        box: Any = env.action_space
        obs_shapes = {k: list(spaces[k].shape) for k in cfg.obs_keys} if hasattr(spaces, "spaces") else {}
        action = {"shape": list(box.shape), "low": np.asarray(box.low).tolist(), "high": np.asarray(box.high).tolist()}
    finally:
        env.close()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(agent, HierarchicalAgent) and isinstance(agent.high, LanguageHighLevel) \
            and isinstance(agent.low, BCLowLevel) and agent.low.kind == "language":
        high, low = agent.high.model, agent.low.model
        _single_step(agent_name, low.config, "low level")
        encoder, candidates, obs_dim = agent.high.text_encoder, list(high.candidates), int(high.config.obs_dim)
        text_dim, k = int(high.config.text_dim), int(high.config.max_subtasks)
        obs_keys = list(low.config.obs_keys)
        if list(high.config.obs_keys) != obs_keys:
            raise InputError(f"agent {agent_name!r}: its levels read different observations ({list(high.config.obs_keys)}"
                             f" and {obs_keys}); hirl export needs one observation vector")
        x, emb, mask, prev = (torch.zeros(1, obs_dim), torch.zeros(1, k, text_dim), torch.ones(1, k, dtype=torch.bool),
                              torch.zeros(1, text_dim))
        _trace(_High(high), (x, emb, mask, prev), out / "high.pt")
        _trace(_Low(low), (x, prev), out / "low.pt")
        networks, export_kind = {"high": "high.pt", "low": "low.pt"}, "hierarchical"
        if not isinstance(cfg.replan, ReplanConfig):
            raise InputError(f"agent {agent_name!r}: the run's replan rule ({type(cfg.replan).__name__}) is not one the "
                             "standalone loader runs; hirl export needs the shorthand replan: section (on_completion, "
                             "timeout, interval)")
        replan = {"on_completion": cfg.replan.on_completion, "timeout": cfg.replan.timeout,
                  "interval": cfg.replan.interval}
    elif isinstance(agent, FlatAgent):
        flat = agent.model
        _single_step(agent_name, flat.config, "network")
        encoder, candidates, obs_dim = agent.text_encoder, [], int(flat.config.obs_dim)
        text_dim, k, obs_keys = int(flat.config.text_dim), int(flat.config.max_subtasks), list(flat.config.obs_keys)
        _trace(_Flat(flat), (torch.zeros(1, obs_dim), torch.zeros(1, k, text_dim), torch.ones(1, k, dtype=torch.bool)),
               out / "flat.pt")
        networks, export_kind, replan = {"flat": "flat.pt"}, "flat", {}
    else:
        raise InputError(f"agent {agent_name!r} of {run_dir.path} is a {type(agent).__name__}, not a language hierarchy "
                         "or a flat policy: not exportable")
    texts = instruction_texts(candidates, [*dataset_commands(cfg), *instructions])
    if not texts:
        raise InputError(f"agent {agent_name!r}: no instructions known (the run's dataset {cfg.dataset} is gone): name "
                         "the commands it will get with --instruction")
    np.save(out / "embeddings.npy", np.asarray(encoder.encode(texts), np.float32))
    atomic_write_json(out / "texts.json", texts)
    manifest = {
        "format": FORMAT, "hirl_version": __version__, "agent": agent_name, "kind": export_kind, "env": cfg.env,
        "observation": {"keys": obs_keys, "shapes": obs_shapes, "dim": obs_dim},
        "action": action, "goal_kind": "language" if export_kind == "hierarchical" else "none",
        "instructions": candidates, "text": {"encoder": getattr(encoder, "encoder_id", ""), "dim": text_dim},
        "command": {"split": SUBTASK_SPLIT.pattern, "strip": SUBTASK_STRIP, "max_subtasks": k},
        "replan": replan, "networks": networks,
    }
    atomic_write_json(out / "manifest.json", manifest)
    atomic_write_text(out / LOADER.name, LOADER.read_text(encoding="utf-8"))
    shutil.rmtree(out / "__pycache__", ignore_errors=True)
    return manifest
