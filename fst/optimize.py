"""Optimization-based style transfer (Gatys et al. 2016): the image itself is optimized, no network is trained.

It minimizes exactly what the fast networks are trained on (fst.losses.PerceptualLoss: same VGG16, layers,
weights and normalization), starting from the photo, so its result is the quality reference they are judged by.

Above 512 pixels it runs coarse to fine (`optimize_pyramid`, as the multi-scale strategy of Gatys et al. 2017,
"Controlling Perceptual Factors in Neural Style Transfer"): first at 256 pixels on the long side, where the
painting's strokes are large against the image and an iteration is cheap, then at twice the size from the result
upsampled, up to the full size. At full size alone the same budget converges to fine-grained texture, slowly.

    python optimize.py --style data/styles/starry_night.jpg --input photo.jpg --output out.jpg --iters 300
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from fst.errors import FstError, UsageError
from fst.losses import PerceptualLoss

OPTIMIZERS = ("lbfgs", "adam")
PYRAMID_SMALLEST = 256  # the coarsest level's long side
PYRAMID_ABOVE = 512  # images up to this long side are optimized at one scale
LBFGS_HISTORY = 50  # remembered steps, fewer for large images:
LBFGS_HISTORY_BYTES = 2**30  # each keeps two image-sized vectors: 67 MB a step at 2048 x 1365


def pyramid_sizes(long_side: int) -> list[int]:
    """The long side of each level, coarsest first: halving from `long_side` while at least PYRAMID_SMALLEST."""
    sizes = [long_side]
    while long_side > PYRAMID_ABOVE and sizes[0] // 2 >= PYRAMID_SMALLEST:
        sizes.insert(0, sizes[0] // 2)
    return sizes


def level_iterations(iters: int, levels: int) -> list[int]:
    """The budget split over the levels, coarsest first, halving at each finer level (300 over 4 levels: 160, 80,
    40, 20): an iteration costs 4x more a level up, so each level takes twice the time of the one below and the
    whole pyramid about twice its finest level. Rounding leftovers go to the coarsest level; every level gets one."""
    if iters < levels:
        raise FstError(f"--iters {iters}: a pyramid of {levels} levels needs at least {levels}")
    weights = [2 ** (levels - 1 - i) for i in range(levels)]
    counts = [max(1, iters * weight // sum(weights)) for weight in weights]
    counts[0] += iters - sum(counts)
    return counts


def optimize_pyramid(
    photo: torch.Tensor,
    loss_fn: PerceptualLoss,
    iters: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    on_iteration: Callable[[int, dict[str, float], torch.Tensor], None] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """optimize_image coarse to fine over pyramid_sizes, `iters` in all (see level_iterations); each level starts
    from the previous result upsampled and is judged against the photo at its own size. Iterations are numbered
    across levels."""
    height, width = photo.shape[-2:]
    sizes = pyramid_sizes(max(height, width))
    image, terms = photo, {}
    done = 0
    for size, level_iters in zip(sizes, level_iterations(iters, len(sizes))):
        scale = size / max(height, width)
        shape = (max(1, round(height * scale)), max(1, round(width * scale)))
        level_photo = photo if size == sizes[-1] else F.interpolate(photo, shape, mode="bilinear", antialias=True)
        init = None if size == sizes[0] else F.interpolate(image, shape, mode="bilinear").clamp(0, 1)

        def numbered(i: int, terms: dict[str, float], now: torch.Tensor, offset: int = done) -> None:
            if on_iteration is not None:
                on_iteration(offset + i, terms, now)

        image, terms = optimize_image(level_photo, loss_fn, level_iters, optimizer, lr, numbered, init)
        done += level_iters
    return image, terms


def lbfgs_history(values: int) -> int:
    """How many steps L-BFGS remembers for an image of `values` floats: 50, fewer where that passes 1 GB."""
    return max(5, min(LBFGS_HISTORY, LBFGS_HISTORY_BYTES // (2 * 4 * values)))


def pixel_optimizer(name: str, image: torch.Tensor, lr: float | None) -> torch.optim.Optimizer:
    """L-BFGS taking one evaluation a step (its history as long as memory allows), or Adam; `lr` None: 1 or 0.01."""
    if name == "lbfgs":
        return torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=1, history_size=lbfgs_history(image.numel()))
    return torch.optim.Adam([image], lr=lr or 0.01)


def optimize_image(
    photo: torch.Tensor,
    loss_fn: PerceptualLoss,
    iters: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    on_iteration: Callable[[int, dict[str, float], torch.Tensor], None] | None = None,
    init: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Optimize the pixels of an image ((1, 3, H, W) in [0, 1], starting from `init` or else the photo) against
    the content of `photo` for `iters` iterations; return the best image it reached and its loss terms.

    The best, not the last: L-BFGS without line search, whose pixels are clamped between its steps, now and then
    takes a step that multiplies the loss (measured: 3.9 to 409 in one iteration on an 85x128 photo), and a run
    that ends on such a step would return a worse picture than it had.

    One iteration is one evaluation of the loss and its gradient (L-BFGS without line search, as in jcjohnson's
    neural-style, or one Adam step). Pixels are clamped to [0, 1] before every evaluation. `on_iteration` gets
    the iteration number, the loss terms evaluated in it and the image as updated by it (not yet clamped).
    """
    if optimizer not in OPTIMIZERS:
        raise FstError(f"optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")
    if iters < 1:
        raise FstError(f"--iters {iters}: expected at least 1")
    if lr is not None and not 0 < lr < math.inf:
        raise UsageError(f"--lr {lr:g}: expected a number > 0")
    target = loss_fn.content_target(photo)
    weights = loss_fn.content_weights(photo, target)
    start = photo if init is None else init
    image = start.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    opt = pixel_optimizer(optimizer, image, lr)
    last: dict[str, float] = {}
    best: dict[str, float] = {"total": math.inf}
    best_image = start

    def closure() -> torch.Tensor:
        nonlocal best_image
        with torch.no_grad():
            image.clamp_(0, 1)
        opt.zero_grad()
        terms = loss_fn.against(image, target, None, weights)
        terms["total"].backward()
        last.update({k: v.item() for k, v in terms.items()})
        if last["total"] < best["total"]:  # the image as evaluated, before the step this evaluation leads to
            best.update(last)
            best_image = image.detach().clone()
        return terms["total"]

    for iteration in range(1, iters + 1):
        opt.step(closure)
        if not torch.isfinite(torch.tensor(last["total"])):
            raise FstError(f"the loss is not finite at iteration {iteration}; try --optimizer adam or a lower --lr")
        if on_iteration is not None:
            on_iteration(iteration, last, image.detach())
    final_image = image.detach().clamp(0, 1)
    final = evaluate(loss_fn, final_image, target, weights)
    if final["total"] <= best["total"]:
        return final_image, final
    return best_image, evaluate(loss_fn, best_image, target, weights)


@torch.no_grad()
def evaluate(loss_fn: PerceptualLoss, image: torch.Tensor, target: torch.Tensor,
             weights: torch.Tensor | None = None) -> dict[str, float]:  # fmt: skip
    """Loss terms of `image` against a content target (and its content_weights), as floats."""
    return {k: v.item() for k, v in loss_fn.against(image, target, None, weights).items()}
