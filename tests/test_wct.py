"""The whitening and colouring transform: Newton-Schulz against an eigendecomposition, the statistics it gives,
and no NaN for flat photos or paintings."""

import numpy as np
import torch

from fst.arbitrary import painting_statistics
from fst.wct import FLOOR, RIDGE, inverse_sqrt, transform, whiten


def spd(values: list[float], seed: int = 0) -> torch.Tensor:
    """A symmetric positive definite matrix with these eigenvalues, in a random basis, float64."""
    q, _ = torch.linalg.qr(torch.randn(len(values), len(values), generator=torch.Generator().manual_seed(seed),
                                       dtype=torch.float64))  # fmt: skip
    return q @ torch.diag(torch.tensor(values, dtype=torch.float64)) @ q.T


def test_inverse_sqrt_matches_the_eigendecomposition_over_a_condition_number_of_1e4():
    values = np.geomspace(1e-4, 1.0, 32).tolist()
    matrix = spd(values)
    exact = spd([v**-0.5 for v in values])  # same basis (same seed): the exact inverse square root
    got = inverse_sqrt(matrix.float()[None])[0].double()
    assert torch.allclose(got @ matrix @ got, torch.eye(32, dtype=torch.float64), atol=2e-3)
    assert float((got - exact).norm() / exact.norm()) < 1e-3


def test_whitened_features_have_zero_mean_and_the_identity_as_covariance():
    generator = torch.Generator().manual_seed(1)
    mixing = torch.randn(16, 16, generator=generator)
    features = (mixing @ torch.randn(1, 16, 40 * 40, generator=generator)).reshape(1, 16, 40, 40) + 3.0
    white, mean = whiten(features)
    assert torch.allclose(mean[0, :, 0], features.mean((2, 3))[0], atol=1e-5)
    covariance = white[0] @ white[0].T / white.shape[-1]
    assert float(white.mean(2).abs().max()) < 1e-4
    flat = features[0].reshape(16, -1).double()
    photo = (flat - flat.mean(1, keepdim=True)) @ (flat - flat.mean(1, keepdim=True)).T / flat.shape[1]
    ridge = RIDGE * photo.norm() + FLOOR
    expected = photo @ torch.linalg.inv(photo + ridge * torch.eye(16, dtype=torch.float64))  # S (S + ridge)^-1
    assert torch.allclose(covariance.double(), expected, atol=2e-3)


def test_the_transform_gives_the_paintings_mean_and_covariance():
    generator = torch.Generator().manual_seed(2)
    photo = torch.randn(1, 8, 30, 30, generator=generator)
    painting = (torch.randn(8, 8, generator=generator) @ torch.randn(8, 900, generator=generator)).reshape(8, 30, 30)
    mean, colouring = painting_statistics((painting + 5).numpy())
    out = transform(photo, torch.from_numpy(mean), torch.from_numpy(colouring), torch.tensor([1.0]))[0].reshape(8, -1)
    target = painting.reshape(8, -1).double()
    target_covariance = (target - target.mean(1, keepdim=True)) @ (target - target.mean(1, keepdim=True)).T / 900
    centred = out.double() - out.double().mean(1, keepdim=True)
    assert np.allclose(out.mean(1).numpy(), mean, atol=1e-3)
    assert torch.allclose(centred @ centred.T / 900, target_covariance, rtol=0.02, atol=0.05)
    assert torch.equal(transform(photo, torch.from_numpy(mean), torch.from_numpy(colouring), torch.tensor([0.0])), photo)


def test_flat_photos_and_flat_paintings_give_finite_features():
    flat_photo = torch.full((1, 4, 8, 8), 2.0)
    mean, colouring = np.arange(4, dtype=np.float32), np.eye(4, dtype=np.float32)
    out = transform(flat_photo, torch.from_numpy(mean), torch.from_numpy(colouring), torch.tensor([1.0]))
    assert torch.isfinite(out).all() and torch.allclose(out[0].mean((1, 2)), torch.from_numpy(mean), atol=1e-5)
    flat_mean, flat_colouring = painting_statistics(np.full((4, 8, 8), 7.0, np.float32))
    assert np.array_equal(flat_colouring, np.zeros((4, 4), np.float32)) and np.allclose(flat_mean, 7.0)
    photo = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    out = transform(photo, torch.from_numpy(flat_mean), torch.from_numpy(flat_colouring), torch.tensor([1.0]))
    assert torch.allclose(out, torch.full_like(out, 7.0))
    assert RIDGE > 0 and FLOOR > 0
