"""Suite-wide fixtures: one torch thread for every test and every fixture, whatever its scope."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

TEST_THREADS = 1  # the nets under test are tiny, and 2 threads stall badly when the 2 cores are busy elsewhere


@pytest.fixture(scope="session", autouse=True)
def _torch_threads_session() -> Iterator[None]:
    """Limit torch to TEST_THREADS intra-op threads before any fixture of any scope runs (session autouse
    fixtures are set up first), so module-scoped training fixtures are limited too; restore the count at the end."""
    previous = torch.get_num_threads()
    torch.set_num_threads(TEST_THREADS)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def _torch_threads_reset() -> Iterator[None]:
    """Put TEST_THREADS back after a test that changed the count (e.g. one calling configure_torch_threads()),
    so the change does not leak into the tests and fixtures that follow."""
    yield
    if torch.get_num_threads() != TEST_THREADS:
        torch.set_num_threads(TEST_THREADS)
