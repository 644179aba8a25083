import numpy as np
import pytest
import torch

from hirl.encoders import ImageEncoder, StateEncoder, image_to_tensor
from hirl.encoders.image import SpatialSoftmax, random_shift
from hirl.weights import load_weights, save_weights


def test_image_to_tensor_layout_and_range():
    imgs = np.zeros((2, 8, 10, 3), np.uint8)
    imgs[0, 1, 2] = [255, 0, 128]
    t = image_to_tensor(imgs)
    assert t.shape == (2, 3, 8, 10) and t.dtype == torch.float32
    assert t[0, :, 1, 2].tolist() == pytest.approx([1.0, 0.0, 128 / 255])
    assert image_to_tensor(imgs[0]).shape == (1, 3, 8, 10)
    with pytest.raises(ValueError, match="uint8"):
        image_to_tensor(imgs.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        image_to_tensor(np.zeros((2, 8, 8, 4), np.uint8))


@pytest.mark.parametrize("size", [64, 96, 48])
def test_image_encoder_any_size(size):
    enc = ImageEncoder(out_dim=32)
    out = enc(image_to_tensor(np.random.default_rng(0).integers(0, 255, (3, size, size, 3), dtype=np.uint8)))
    assert out.shape == (3, 32) and torch.isfinite(out).all()


def test_image_encoder_rejects_wrong_layout_and_trains():
    enc = ImageEncoder(out_dim=8)
    with pytest.raises(ValueError, match="image_to_tensor"):
        enc(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        enc(torch.zeros(1, 64, 64, 3))
    x = torch.rand(4, 3, 64, 64)
    enc(x).sum().backward()
    assert all(p.grad is not None for p in enc.parameters())


def test_spatial_softmax_finds_the_bright_cell():
    """A sharp peak in the projected map puts the keypoint there: (x, y) in [-1, 1], x along the width."""
    sm = SpatialSoftmax(channels=1, keypoints=1)
    with torch.no_grad():
        sm.project.weight.fill_(1.0)
        sm.project.bias.zero_()
        sm.log_temperature.fill_(-3.0)  # temperature 0.05: nearly an argmax
    features = torch.zeros(1, 1, 5, 9)
    features[0, 0, 4, 0] = 10.0  # bottom-left cell
    assert sm(features)[0, 0].tolist() == pytest.approx([-1.0, 1.0], abs=1e-3)
    enc = ImageEncoder(out_dim=16, channels=(8, 8, 8, 8), keypoints=4)
    enc(torch.rand(2, 3, 32, 32)).sum().backward()
    assert all(p.grad is not None for p in enc.parameters())
    with pytest.raises(ValueError, match="keypoints"):
        ImageEncoder(out_dim=8, keypoints=-1)


def test_random_shift_moves_each_image_within_pad_and_replicates_the_border():
    images = torch.zeros(64, 8, 8, 3, dtype=torch.uint8)
    images[:, 4, 4] = 255
    out = random_shift(images, 2, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    where = [(out[i, :, :, 0] == 255).nonzero().tolist() for i in range(64)]
    assert all(len(w) == 1 and max(abs(w[0][0] - 4), abs(w[0][1] - 4)) <= 2 for w in where)
    assert len({tuple(w[0]) for w in where}) > 10  # offsets differ per image
    flat = torch.full((8, 6, 6, 3), 200, dtype=torch.uint8)  # the border is replicated, never zero-filled
    assert (random_shift(flat, 3) == 200).all()
    assert random_shift(images, 0) is images


def test_state_encoder_normalizer_fit_update_and_save(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(loc=[1, -2, 5], scale=[0.1, 3, 10], size=(500, 3))
    data[:, 0] = 4.0  # a constant dimension must not blow up
    enc = StateEncoder(3, out_dim=16, hidden=(32,))
    enc.fit_normalizer(data[:200])
    enc.fit_normalizer(data[200:], update=True)
    np.testing.assert_allclose(enc.norm_mean.numpy(), data.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(enc.norm_std.numpy()[1:], data.std(0)[1:], rtol=1e-4)
    z = enc.normalize_input(torch.as_tensor(data, dtype=torch.float32))
    assert torch.isfinite(z).all() and z[:, 1:].mean(0).abs().max() < 1e-3
    assert enc(torch.as_tensor(data[:4], dtype=torch.float32)).shape == (4, 16)
    path = save_weights(enc, tmp_path / "state.safetensors")
    other = load_weights(StateEncoder(3, out_dim=16, hidden=(32,)), path)
    assert torch.equal(other.norm_mean, enc.norm_mean) and other.norm_count.item() == 500
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        enc.fit_normalizer(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"\(B, 3\)"):
        enc(torch.zeros(2, 4))
    plain = StateEncoder(3, normalize=False)
    x = torch.ones(1, 3)
    assert torch.equal(plain.normalize_input(x), x)
