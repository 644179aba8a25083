import time

import numpy as np
import pytest

from hirl.encoders import HashTextEncoder, MiniLMEncoder, validate_texts
from hirl.errors import InputError
from hirl.registry import ENCODERS


def test_registered_names():
    assert {"text", "hash", "image", "state"} <= set(ENCODERS.names())
    assert ENCODERS.get("text") is MiniLMEncoder and ENCODERS.get("hash") is HashTextEncoder


@pytest.mark.parametrize("bad, match", [
    ("open the drawer", "single str"), (["ok", 3], r"texts\[1\] must be a str"),
    (["ok", "  "], r"texts\[1\] must be a non-empty"),
    (None, "sequence of str"),
])
def test_validation_names_the_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        validate_texts(bad)
    with pytest.raises(ValueError, match=match):
        HashTextEncoder().encode(bad)


def test_hash_encoder_is_deterministic_normalised_and_cached():
    enc = HashTextEncoder(dim=128)
    texts = ["open the drawer", "push the button", "open the drawer"]
    emb = enc.encode(texts)
    assert emb.shape == (3, 128) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(emb[0], emb[2])
    assert enc.stats["embedded"] == 2
    np.testing.assert_array_equal(HashTextEncoder(dim=128).encode(["open the drawer"])[0], emb[0])  # same on every run
    enc.encode(["push the button"])
    assert enc.stats["embedded"] == 2 and enc.stats["memory_hits"] >= 1
    assert enc.encode([]).shape == (0, 128)
    assert enc.encode_one("!!!").shape == (128,)  # no word tokens still gives a unit vector
    assert np.isclose(np.linalg.norm(enc.encode_one("!!!")), 1.0)


def test_nearest_returns_best_similarity_and_all():
    enc = HashTextEncoder()
    cands = ["open the drawer", "push the red button", "stack red on blue"]
    best, sim, sims = enc.nearest("please open the drawer", cands)
    assert best == "open the drawer" and sims.shape == (3,) and sim == pytest.approx(sims.max())
    best2, _, _ = enc.nearest(enc.encode_one("push the red button") * 3.0, cands)  # unnormalised embedding is fine
    assert best2 == "push the red button"
    with pytest.raises(ValueError, match="candidates must not be empty"):
        enc.nearest("x", [])
    with pytest.raises(ValueError, match="shape"):
        enc.nearest(np.ones(3), cands)


def test_disk_cache_round_trip_merge_and_corruption(tmp_path):
    path = tmp_path / "cache" / "text.npz"
    a = HashTextEncoder(cache_path=path)
    emb = a.encode(["open the drawer", "push the button"])
    assert path.exists()
    b = HashTextEncoder(cache_path=path)
    np.testing.assert_array_equal(b.encode(["push the button", "open the drawer"]), emb[::-1])
    assert b.stats["embedded"] == 0 and b.stats["disk_hits"] == 2
    c = HashTextEncoder(cache_path=path)  # two writers: entries are merged, not lost
    a.encode(["new one"])
    c.encode(["another"])
    d = HashTextEncoder(cache_path=path)
    d.encode(["open the drawer", "push the button", "new one", "another"])
    assert d.stats["embedded"] == 0
    with np.load(path, allow_pickle=False) as data:  # plain arrays, no pickled objects
        assert data["embeddings"].shape == (4, 256)
    # another encoder's entries are keyed apart; a different dim is refused in one line
    with pytest.raises(InputError, match="256-d"):
        HashTextEncoder(dim=64, cache_path=path)
    path.write_bytes(b"not an npz")
    with pytest.raises(InputError) as err:
        HashTextEncoder(cache_path=path)
    assert "text.npz" in str(err.value) and "\n" not in str(err.value)


def test_minilm_text_encoder_real_model(tmp_path):
    """The real frozen model (offline): ~10 s to load once per process; cached texts cost microseconds."""
    enc = MiniLMEncoder(cache_path=tmp_path / "minilm.npz")
    skills = ["open the drawer", "close the drawer", "push the red button", "stack the red block on the blue block"]
    emb = enc.encode(skills)
    assert emb.shape == (4, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-4)
    for paraphrase, skill in [("pull the drawer open", "open the drawer"), ("shut the drawer", "close the drawer"),
                              ("press the red button", "push the red button"),
                              ("put the red cube on top of the blue cube", "stack the red block on the blue block")]:
        best, sim, _ = enc.nearest(paraphrase, skills)
        assert best == skill and sim > 0.5, (paraphrase, best, sim)
    t0 = time.perf_counter()
    again = MiniLMEncoder().encode(skills)  # another instance shares the process-wide model and memory cache
    assert time.perf_counter() - t0 < 0.05
    np.testing.assert_array_equal(again, emb)
    fresh = MiniLMEncoder(cache_path=tmp_path / "minilm.npz")
    fresh._memory = {}  # bypass the shared memory cache: must come from disk, not the model
    np.testing.assert_array_equal(fresh.encode(skills), emb)
    assert fresh.stats == {"embedded": 0, "memory_hits": 0, "disk_hits": 4}
