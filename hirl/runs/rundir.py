"""RunDir: the one layout of a run directory, for imitation and RL runs alike.

    RUN/config.yaml                    the run's config (`kind: imitation` or `kind: rl`; an RL run holds the
                                       config of the stage trained last)
    RUN/models/<component>/            a trained component: a PolicyModule (config.json + weights.safetensors),
                                       an SB3 model (model.zip) or the planner's graph (graph.npz)
    RUN/models/adapted/<component>/    the same component after an adapt / fine-tuning stage
    RUN/train/<name>/                  training state of a component or RL stage: resumable checkpoints,
                                       metrics.csv / curve.json, TensorBoard logs (tb/), config.yaml, summary.json
    RUN/train/<stage>/<component>/     a fine-tuning stage's training state (e.g. train/adapt1/low_language)
    RUN/eval/                          `hirl eval` output (report.json, summary.md, chain_success.png, videos/)
"""
from __future__ import annotations

from pathlib import Path

from hirl.config import read_yaml
from hirl.errors import InputError

CONFIG_FILE = "config.yaml"
ADAPTED = "adapted"  # models/<ADAPTED>/<component>: components after an adapt stage
DEFAULT_KIND = "imitation"  # the run kind of a config without a `kind:` key


class RunDir:
    """Paths of one run directory (see the module docstring); nothing is created until a writer asks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # -- config -------------------------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    def require(self) -> RunDir:
        """self, or InputError in one line when the folder is not a run directory (no config.yaml)."""
        if not self.config_path.is_file():
            raise InputError(f"{self.path}: not a run directory (no {CONFIG_FILE}); train one with: hirl train CONFIG --out {self.path}")
        if (self.path / "stages").is_dir() and not (self.path / "train").is_dir():
            raise InputError(f"{self.path}: RL run in the layout before hirl 0.2 (stages/); move it in place with: "
                             f"hirl migrate {self.path}")
        return self

    def kind(self) -> str:
        """The run kind named by config.yaml's `kind:` key (DEFAULT_KIND without one)."""
        return config_kind(self.require().config_path)

    # -- components -----------------------------------------------------------------------------------------------
    def model_dir(self, component: str, adapted: bool = False) -> Path:
        """RUN/models/<component>, or RUN/models/adapted/<component> after an adapt stage."""
        return self.path / "models" / (ADAPTED if adapted else "") / component

    def require_model(self, component: str, adapted: bool = False) -> Path:
        """model_dir(component, adapted), or InputError saying how to train it when it does not exist."""
        path = self.model_dir(component, adapted)
        if not path.is_dir():
            how = "enable adapt (adapt.enabled=true) or train an adapt stage" if adapted else "train it first: hirl train"
            raise InputError(f"{path}: no trained {component} in this run ({how})")
        return path

    # -- training state and outputs -------------------------------------------------------------------------------
    def train_dir(self, name: str, stage: str | None = None) -> Path:
        """RUN/train/<name> (a component's or an RL stage's training state), or RUN/train/<stage>/<name>."""
        return self.path / "train" / (stage or "") / name

    def stage_config_path(self, stage: str) -> Path:
        """RUN/train/<stage>/config.yaml: the resolved config an RL stage was trained with."""
        return self.train_dir(stage) / CONFIG_FILE

    @property
    def eval_dir(self) -> Path:
        return self.path / "eval"

    @property
    def summary_path(self) -> Path:
        return self.path / "train_summary.json"


def as_run_dir(run: str | Path | RunDir) -> RunDir:
    """run as a RunDir (paths are wrapped, a RunDir is returned as it is)."""
    return run if isinstance(run, RunDir) else RunDir(run)


def config_kind(path: str | Path) -> str:
    """The `kind:` of the YAML config at path (DEFAULT_KIND when absent); InputError naming the file if unreadable."""
    kind = read_yaml(path).get("kind", DEFAULT_KIND)
    if not isinstance(kind, str):
        raise InputError(f"{path}: key 'kind': expected a string, got {type(kind).__name__}")
    return kind
