"""The RESULTS-skills pages are rendered from their results JSON: re-rendering the committed JSON gives the committed
Markdown byte for byte (a number edited in one of them and not the other fails here)."""
from __future__ import annotations

import json

import pytest

from tests.fixtures.scripts import load_experiment_script


@pytest.mark.parametrize("page", ["tabletop", "maze"])
def test_page_is_the_rendering_of_its_json(page):
    mod = load_experiment_script("skills/render_results.py", "skills_render_results")
    base = mod.PAGES[page]
    data = json.loads(base.with_suffix(".json").read_text())
    assert base.with_suffix(".md").read_text() == mod.render_page(page, data)
    for i, _ in enumerate(data.get("curriculum") or []):  # the curriculum figures the page shows are committed
        assert mod.curriculum_figure(base, i).is_file()
