"""Deterministic model initialisation whatever the test order (HIRL_TEST_SEED varies it for robustness checks).
Thread limiting is suite-wide, in tests/conftest.py."""
from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest
import torch


def _seed() -> None:
    seed = int(os.environ.get("HIRL_TEST_SEED", "0"))  # 0 unless a robustness check asks for another seed
    torch.manual_seed(seed)
    np.random.seed(seed)


@pytest.fixture(scope="module", autouse=True)
def _seed_module() -> Iterator[None]:
    """Seed before the module-scoped fixtures of each module (autouse fixtures of a scope are set up first)."""
    _seed()
    yield


@pytest.fixture(autouse=True)
def _seed_test() -> Iterator[None]:
    """Seed before each test."""
    _seed()
    yield
