import numpy as np
import pytest
import torch

from hirl.errors import InputError
from hirl.policies.high import ImageGenConfig, ImageGoalGenerator, ImageHighLevel, StateGoalNet, StateHighLevel, StateHLConfig
from hirl.types import Command

from .helpers import CHAINS, E, G, S, SKILLS, chain_data, encoder, to_batch, train

STATE_KEYS = ("obs", "command_emb", "command_mask", "prev_state", "target_state")
IMG_KEYS = ("image", "target_image", "command_emb", "command_mask", "prev_emb")


def make_state() -> StateGoalNet:
    return StateGoalNet(StateHLConfig(obs_dim=S, goal_dim=G, text_dim=E, text_encoder="hash", obs_feat=32, cmd_dim=64,
                                      encoder_hidden=(64,), hidden=(128, 128), head_hidden=(64,)))


def test_state_high_level(tmp_path):
    data = chain_data(1024)
    net = make_state().fit(data["obs"], data["target_state"])
    b = to_batch({k: data[k][:5] for k in STATE_KEYS})
    assert net(b["obs"], b["command_emb"], b["command_mask"], b["prev_state"]).shape == (5, G)
    first, last = train(net, {k: data[k] for k in STATE_KEYS}, steps=300)
    assert last < 0.2 * first, (first, last)
    d = net.save(tmp_path / "s")
    loaded = StateGoalNet.load(d)
    with torch.no_grad():
        assert torch.equal(net.predict(b["obs"], b["command_emb"], b["command_mask"], b["prev_state"]),
                           loaded.predict(b["obs"], b["command_emb"], b["command_mask"], b["prev_state"]))
    high = StateHighLevel(d, text_encoder=encoder())
    assert isinstance(high, StateHighLevel)
    chain = CHAINS[0]
    cmd = Command("c", tuple(SKILLS[i] for i in chain))
    high.reset()
    g = high.propose({"observation": np.zeros(S)}, cmd)
    assert g.kind == "state" and g.value.shape == (G,) and g.value.dtype == np.float64
    table = {i: data["target_state"][data["target"] == i][0] for i in chain}
    assert np.linalg.norm(g.value - table[chain[0]]) < 0.5 * np.linalg.norm(table[chain[0]] - table[chain[1]])
    (d / "weights.safetensors").write_bytes(b"\x00" * 10)
    with pytest.raises(InputError, match=r"weights\.safetensors"):
        StateGoalNet.load(d)


def image_data(n: int, size: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    """Frame: noisy background with a white 6x6 square at a random place; target: the same frame with the
    square recoloured by the target skill (a local edit the command decides)."""
    data = chain_data(n, seed)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 100, (n, size, size, 3)).astype(np.uint8)
    target = image.copy()
    colours = (np.arange(len(SKILLS))[:, None] * np.array([40, 90, 150]) % 256).astype(np.uint8)
    for i, (y, x) in enumerate(rng.integers(0, size - 6, (n, 2))):
        image[i, y:y + 6, x:x + 6] = 255
        target[i, y:y + 6, x:x + 6] = colours[data["target"][i]]
    data.update(image=image, target_image=target)
    return data


def make_gen() -> ImageGoalGenerator:
    return ImageGoalGenerator(ImageGenConfig(text_dim=E, text_encoder="hash", channels=(8, 16, 16), cond_dim=32))


def test_image_generator(tmp_path):
    data = image_data(256)
    gen = make_gen()
    b = to_batch({k: data[k][:4] for k in IMG_KEYS})
    from hirl.encoders.image import images_to_float

    out = gen(images_to_float(b["image"]), b["command_emb"], b["command_mask"], b["prev_emb"])
    assert out.shape == (4, 3, 16, 16) and 0 <= out.min() and out.max() <= 1
    first, last = train(gen, {k: data[k] for k in IMG_KEYS}, steps=150, batch_size=16, lr=3e-3)
    assert last < 0.6 * first, (first, last)
    d = gen.save(tmp_path / "g")
    loaded = ImageGoalGenerator.load(d)
    with torch.no_grad():
        x = images_to_float(b["image"])
        assert torch.equal(gen(x, b["command_emb"], b["command_mask"], b["prev_emb"]),
                           loaded(x, b["command_emb"], b["command_mask"], b["prev_emb"]))
    with pytest.raises(ValueError, match="multiples of 8"):
        gen(torch.zeros(1, 3, 12, 12), b["command_emb"][:1], b["command_mask"][:1])


def test_image_high_level_renders_only_when_proposing():
    gen = make_gen()
    calls = []

    def render():
        calls.append(1)
        return np.full((16, 16, 3), 80, np.uint8)

    high = ImageHighLevel(gen, render=render, text_encoder=encoder())
    assert isinstance(high, ImageHighLevel) and not calls
    cmd = Command("c", (SKILLS[0], SKILLS[1]))
    high.reset()
    for _ in range(3):
        g = high.propose({"observation": np.zeros(S)}, cmd)
        assert g.kind == "image" and g.value.shape == (16, 16, 3) and g.value.dtype == np.uint8
    assert len(calls) == 3 and high.num_proposals == 3
    # untrained: the edit mask starts near 0, so the goal is (almost) the input frame
    assert np.abs(g.value.astype(int) - 80).max() <= 6
    with pytest.raises(TypeError):
        ImageHighLevel(gen, render=None, text_encoder=encoder())
