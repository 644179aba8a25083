"""Language labels of OGBench oracle targets (pure functions: no ogbench needed)."""
from __future__ import annotations

import numpy as np

from hirl.adapters.ogbench.labels import cell_label, target_label

BOUNDS = np.array([[0.3, -0.3], [0.55, 0.3]])  # cube / puzzle target sampling range [[x_lo, y_lo], [x_hi, y_hi]]


def test_labels_of_every_target_kind() -> None:
    cube = {"privileged/target_task": "cube", "privileged/target_block": 1}
    assert target_label({**cube, "privileged/target_block_pos": [0.4, 0.25, 0.02]}, BOUNDS, 2) == "move cube 2 to the left"
    assert target_label({**cube, "privileged/target_block_pos": [0.4, -0.25, 0.02]}, BOUNDS, 2) == "move cube 2 to the right"
    assert target_label({**cube, "privileged/target_block_pos": [0.4, 0.0, 0.02]}, BOUNDS, 1) == "move the cube to the middle"
    assert target_label({**cube, "privileged/target_block_pos": [0.4, 0.0, 0.06]}, BOUNDS, 2) == "stack cube 2 on another cube"
    assert target_label({**cube, "privileged/target_block_pos": [0.3, -0.4, 0.06]}, BOUNDS, 1,
                        cube_in_drawer=True) == "put the cube in the drawer"
    assert target_label({"privileged/target_task": "button", "privileged/target_button": 4}, BOUNDS, 0) == "press button 5"
    drawer = {"privileged/target_task": "drawer"}
    assert target_label({**drawer, "privileged/target_drawer_pos": np.array([-0.16])}, BOUNDS, 1) == "open the drawer"
    assert target_label({**drawer, "privileged/target_drawer_pos": np.array([0.0])}, BOUNDS, 1) == "close the drawer"
    window = {"privileged/target_task": "window"}
    assert target_label({**window, "privileged/target_window_pos": np.array([0.2])}, BOUNDS, 1) == "open the window"
    assert target_label({**window, "privileged/target_window_pos": np.array([0.0])}, BOUNDS, 1) == "close the window"
    assert cell_label((5, 10)) == "go to cell 5,10"
