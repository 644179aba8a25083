import os

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_threads():
    """Deterministic model initialisation whatever the test order (HIRL_TEST_SEED varies it for robustness checks);
    one torch thread: these nets are tiny, and 2 threads stall badly when the 2 cores are busy elsewhere."""
    seed = int(os.environ.get("HIRL_TEST_SEED", "0"))
    torch.manual_seed(seed)
    np.random.seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
