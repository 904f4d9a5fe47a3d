"""Optimization-based style transfer (Gatys et al. 2016): the image itself is optimized, no network is trained.

It minimizes exactly what the fast networks are trained on (fst.losses.PerceptualLoss: same VGG16, layers,
weights and normalization), starting from the photo, so its result is the quality reference they are judged by.

    python infer.py --optimize --style data/styles/starry_night.jpg --input photo.jpg --output out.jpg --iters 300
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from fst.errors import FstError
from fst.losses import PerceptualLoss

OPTIMIZERS = ("lbfgs", "adam")


def optimize_image(
    photo: torch.Tensor,
    loss_fn: PerceptualLoss,
    iters: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    on_iteration: Callable[[int, dict[str, float], torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Optimize the pixels of `photo` ((1, 3, H, W) in [0, 1]) for `iters` iterations; return the image and the
    loss terms of that final image.

    One iteration is one evaluation of the loss and its gradient (L-BFGS without line search, as in jcjohnson's
    neural-style, or one Adam step). Pixels are clamped to [0, 1] before every evaluation. `on_iteration` gets
    the iteration number, the loss terms evaluated in it and the image as updated by it (not yet clamped).
    """
    if optimizer not in OPTIMIZERS:
        raise FstError(f"optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")
    if iters < 1:
        raise FstError(f"--iters {iters}: expected at least 1")
    target = loss_fn.content_target(photo)
    image = photo.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=50)
    else:
        opt = torch.optim.Adam([image], lr=lr or 0.01)
    last: dict[str, float] = {}

    def closure() -> torch.Tensor:
        with torch.no_grad():
            image.clamp_(0, 1)
        opt.zero_grad()
        terms = loss_fn.against(image, target)
        terms["total"].backward()
        last.update({k: v.item() for k, v in terms.items()})
        return terms["total"]

    for iteration in range(1, iters + 1):
        opt.step(closure)
        if not torch.isfinite(torch.tensor(last["total"])):
            raise FstError(f"the loss is not finite at iteration {iteration}; try --optimizer adam or a lower --lr")
        if on_iteration is not None:
            on_iteration(iteration, last, image.detach())
    final_image = image.detach().clamp(0, 1)
    return final_image, evaluate(loss_fn, final_image, target)


@torch.no_grad()
def evaluate(loss_fn: PerceptualLoss, image: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """Loss terms of `image` against a content target, as floats."""
    return {k: v.item() for k, v in loss_fn.against(image, target).items()}
