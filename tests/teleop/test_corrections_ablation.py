"""experiments/tabletop/corrections_ablation.py: its variants file is checked field by field, and the paired
difference is taken chain by chain on the seeds both evaluations ran."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def script():
    path = ROOT / "experiments/tabletop/corrections_ablation.py"
    spec = importlib.util.spec_from_file_location("corrections_ablation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variants_name_the_unknown_field(tmp_path):
    ablation = script()
    good = tmp_path / "v.yaml"
    good.write_text("default: {}\nstrong: {steps: 400, lr: 0.0003}\n")
    assert ablation.variants(good) == {"default": {}, "strong": {"steps": 400, "lr": 0.0003}}
    bad = tmp_path / "bad.yaml"
    bad.write_text("oops: {stepz: 3}\n")
    with pytest.raises(SystemExit, match=r"bad.yaml: variant 'oops': unknown finetune field\(s\) \['stepz'\]"):
        ablation.variants(bad)
    assert ablation.variants(good, ["strong"]) == {"strong": {"steps": 400, "lr": 0.0003}}
    with pytest.raises(SystemExit, match=r"v.yaml: no variant\(s\) \['strnog'\] \(--only"):
        ablation.variants(good, ["strnog"])


def test_paired_difference_is_per_chain_on_shared_seeds():
    ablation = script()
    base = {"chains": [{"seed": s, "length": n, "success": n == 5} for s, n in [(1, 2), (2, 5), (3, 0)]]}
    other = {"chains": [{"seed": s, "length": n, "success": n == 5} for s, n in [(1, 5), (2, 5), (4, 1)]]}
    p = ablation._paired(base, other)
    assert p["chains"] == 2  # seed 3 and 4 ran on one side only
    assert p["length"]["mean"] == pytest.approx(1.5) and p["success"]["mean"] == pytest.approx(0.5)
    lo, hi = p["length"]["ci95"]
    assert lo < 1.5 < hi
