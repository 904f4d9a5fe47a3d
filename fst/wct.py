"""The whitening and colouring transform (Li et al. 2017): a photo's VGG features given a painting's mean and
covariance, the step that lets one decoder serve any painting.

For features f (C channels, N positions) of a photo and a painting's mean m_s and covariance S_s:

    out = S_s^(1/2) S_c^(-1/2) (f - m_c) + m_s,     S_c = (f - m_c)(f - m_c)^T / N + eps

The painting's half is computed once per painting, in numpy (fst.arbitrary.painting_statistics: float64,
eigendecomposition), and enters the graph as two inputs; the browser, without an eigendecomposition, takes it from
the graph (`statistics`). The photo's half runs inside the graph on every image, built of matrix products only
(`newton_schulz`: coupled Newton-Schulz iterations), because ONNX has no eigendecomposition or SVD: so the whole
path exports and gives the same numbers in onnxruntime, OpenVINO and the browser.

No photo or painting gives NaN: the covariance gets a ridge of RIDGE times its norm plus FLOOR (a flat photo's
covariance is 0), which also bounds the condition number the iterations must cover and the rounding they amplify;
a flat painting's colouring matrix is 0, so every position gets its mean.
"""

from __future__ import annotations

import torch

# Relative to the covariance's Frobenius norm (about its largest eigenvalue): whitening stops amplifying directions
# below it, which bounds the condition number near 1/RIDGE. Measured through the four levels of the arbitrary model:
# float32 against float64 differs by 5e-4 at 1e-3, 3e-3 at 1e-4, 3e-2 at 1e-5 (ill-conditioned decoded features).
RIDGE = 1e-3
FLOOR = 1e-5  # absolute, for a photo whose features are constant
ITERATIONS = 20  # measured: within 3e-5 of eigh on VGG16 features of photos and paintings (the tests check it)


def newton_schulz(matrix: torch.Tensor, iterations: int = ITERATIONS) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, C) symmetric positive definite -> (its square root, its inverse square root), by coupled
    Newton-Schulz iterations.

    Scaled by its Frobenius norm (at least its largest eigenvalue), the matrix's eigenvalues lie in (0, 1], where
    Y_k -> A^(1/2) and Z_k -> A^(-1/2) converge; each iteration is three matrix products."""
    eye = torch.eye(matrix.shape[-1], dtype=matrix.dtype, device=matrix.device).expand_as(matrix)
    norm = matrix.pow(2).sum((-2, -1), keepdim=True).sqrt()
    y, z = matrix / norm, eye
    for _ in range(iterations):
        t = 1.5 * eye - 0.5 * (z @ y)
        y, z = y @ t, t @ z
    return y * norm.sqrt(), z / norm.sqrt()


def inverse_sqrt(matrix: torch.Tensor, iterations: int = ITERATIONS) -> torch.Tensor:
    """(N, C, C) symmetric positive definite -> its inverse square root (newton_schulz)."""
    return newton_schulz(matrix, iterations)[1]


def covariance(features: torch.Tensor, ridge: float = RIDGE) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(N, C, H, W) -> (covariance with the ridge (N, C, C), mean (N, C, 1), centred features (N, C, H*W))."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    mean = flat.mean(2, keepdim=True)
    centred = flat - mean
    eye = torch.eye(c, dtype=features.dtype, device=features.device)
    product = centred @ centred.transpose(1, 2) / (h * w)
    norm = product.pow(2).sum((-2, -1), keepdim=True).sqrt()  # about the largest eigenvalue
    return product + (ridge * norm + FLOOR) * eye, mean, centred


def whiten(features: torch.Tensor, iterations: int = ITERATIONS) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, C, H, W) -> (whitened features (N, C, H*W), mean (N, C, 1)): zero mean and identity covariance, up to the
    ridge."""
    matrix, mean, centred = covariance(features)
    return inverse_sqrt(matrix, iterations) @ centred, mean


def statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, C, H, W) features of a painting -> its mean (C,) and colouring matrix (C, C) in the graph, by
    Newton-Schulz: what a runtime without an eigendecomposition (the browser) uses in place of
    fst.arbitrary.painting_statistics. No ridge: the square root's iteration needs none (an eigenvalue it has not
    reached yet is one whose root is near 0 anyway)."""
    matrix, mean, _ = covariance(features, ridge=0.0)
    return mean[0, :, 0], newton_schulz(matrix)[0][0]


def transform(
    features: torch.Tensor, style_mean: torch.Tensor, style_colouring: torch.Tensor, strength: torch.Tensor
) -> torch.Tensor:
    """The photo's features with the painting's statistics: (N, C, H, W) features, (C,) mean, (C, C) colouring
    matrix (fst.arbitrary.painting_statistics), a scalar strength (1: the painting's statistics, 0: the photo's own features)."""
    n, c, h, w = features.shape
    white, _ = whiten(features)
    coloured = (style_colouring @ white + style_mean.reshape(1, c, 1)).reshape(n, c, h, w)
    return strength * coloured + (1 - strength) * features

