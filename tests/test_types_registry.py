import sys

import numpy as np
import pytest

from hirl.registry import COMPLETION_DETECTORS, REPLAN_RULES, Registry, RegistryError
from hirl.types import Command, Correction, Subgoal


def test_subgoal_kinds_validate_and_freeze():
    lang = Subgoal("language", "open the drawer")
    assert lang.source == "policy" and lang.describe() == "open the drawer"
    img = Subgoal("image", np.zeros((8, 8, 3), np.uint8), "expert")
    assert not img.value.flags.writeable
    state = Subgoal("state", [1, 2, 3])
    assert state.value.dtype == np.float64 and not state.value.flags.writeable
    for bad in [("language", ""), ("image", np.zeros((8, 8), np.uint8)), ("image", np.zeros((8, 8, 3))),
                ("state", np.zeros((2, 2))), ("state", [np.nan]), ("video", "x")]:
        with pytest.raises(ValueError):
            Subgoal(*bad)
    with pytest.raises(ValueError, match="source"):
        Subgoal("language", "x", "robot")


def test_subgoal_same_goal_ignores_source():
    a = Subgoal("state", [1.0, 2.0], "policy")
    assert a.same_goal(a.with_source("human"))
    assert not a.same_goal(Subgoal("state", [1.0, 2.5]))
    assert not a.same_goal(Subgoal("language", "go"))
    assert not a.same_goal(None)


def test_command_and_correction():
    c = Command("open the drawer", ["open the drawer"])
    assert c.subtasks == ("open the drawer",)
    with pytest.raises(ValueError):
        Command("  ")
    corr = Correction(3, np.zeros(2), None, Subgoal("language", "push the button", "human"), "scripted", 1.0)
    assert corr.proposed is None and corr.corrected.source == "human"
    with pytest.raises(ValueError):
        Correction(-1, np.zeros(2), None, corr.corrected)


def test_registry_register_get_build_and_errors():
    reg: Registry = Registry("widget")

    @reg.register("double")
    def double(x: int) -> int:
        return 2 * x

    assert reg.build("double", x=4) == 8 and "double" in reg and reg.names() == ["double"]
    with pytest.raises(RegistryError, match="unknown widget 'triple' \\(known: double\\)"):
        reg.get("triple")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("double")(lambda x: x)


def test_builtin_extension_points_are_registered():
    import hirl.hierarchy  # noqa: F401  (registers rules and detectors)

    assert {"fixed_interval", "on_completion", "on_override", "any_of"} <= set(REPLAN_RULES.names())
    assert {"state_distance", "env_predicate", "learned", "noisy"} <= set(COMPLETION_DETECTORS.names())


def test_subgoal_label_is_its_language_form():
    g = Subgoal("state", [1.0, 2.0], "expert", "go to the north room")
    assert g.text == "go to the north room" and g.describe() == "go to the north room"
    assert g.with_source("human").label == "go to the north room"
    assert Subgoal("language", "open the drawer").text == "open the drawer"
    assert Subgoal("state", [1.0]).text.startswith("state [")


def test_a_lazily_declared_entry_is_imported_on_its_first_lookup_only():
    import sys

    from hirl.errors import InputError
    from hirl.registry import Registry

    reg = Registry("widget", lazy={"json_dump": "json:dumps", "gone": "no_such_module_xyz:f"})
    assert reg.names() == ["gone", "json_dump"] and "json_dump" in reg and reg.target("json_dump") == "json:dumps"
    assert reg.get("json_dump") is sys.modules["json"].dumps and reg.target("json_dump") is None
    with pytest.raises(InputError, match="widget 'gone' needs no_such_module_xyz, which cannot be imported"):
        reg.get("gone")
    with pytest.raises(ValueError, match="already declared"):
        reg.register("gone")(lambda: None)
    with pytest.raises(ValueError, match="expected 'module:attr' or 'module'"):
        reg.declare("bad", "json:")


def test_a_name_declared_by_module_is_registered_by_importing_that_module(tmp_path, monkeypatch):
    """declare(name, "module"): the first lookup imports the module, which registers the name itself; a module that
    does not is an error naming both."""
    from hirl.registry import Registry

    reg = Registry("widget", lazy={"w": "widget_mod_xyz", "x": "json"})
    (tmp_path / "widget_mod_xyz.py").write_text("import sys\nREG = sys.modules['__reg__']\nREG.register('w')(dict)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(sys.modules, "__reg__", reg)  # the module reaches this registry as a plugin reaches its own
    assert reg.names() == ["w", "x"] and "w" not in reg._entries
    assert reg.get("w") is dict and reg.target("w") is None
    with pytest.raises(ValueError, match="widget 'x': importing json did not register it"):
        reg.get("x")
    monkeypatch.delitem(sys.modules, "widget_mod_xyz")


def test_an_imitation_config_and_its_validation_import_no_rl_code():
    """Building and validating a RunConfig imports only the named agents' modules: no SB3, no hirl.rl."""
    import subprocess
    import sys

    code = ("import sys\nfrom hirl.learn.run_config import RunConfig\nfrom hirl.learn.validate import validate\n"
            "validate(RunConfig(text_encoder='hash'))\n"
            "print(sorted(m for m in sys.modules if m.startswith(('stable_baselines3', 'hirl.rl'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]"
