"""Perceptual losses: content (feature distance), style (Gram matrices) and total variation.

Normalization. Each term is divided by the size of its target, so it is a relative error:

    content = |F(y) - F(x)|^2 / |F(x)|^2                 at the content layer (F: VGG activations)
    style   = sum_l w_l |G_l(y) - G_l(s)|^2 / |G_l(s)|^2   G: Gram matrix / (C*H*W), s: the style image
    tv      = mean |y(i+1, j) - y(i, j)| + mean |y(i, j+1) - y(i, j)|   on the [0, 1] output image

each computed per image and averaged over the batch, so a batch split across processes averages to the same loss.
With loss.content_edges the content distance is weighted position by position, more along the photo's edges
(edge_weights, of mean 1, so the term keeps its scale).

An optional temporal term (loss.temporal_weight) asks the network to commute with small camera motions: for a
random shift, rotation and zoom M and sensor noise n, f(M(x) + n) should equal M(f(x)) (Gupta et al. 2017,
ReCoNet, Gao et al. 2018), so strokes move with the scene instead of boiling:

    temporal = |f(M(x) + n) - M(f(x))|^2 / |M(f(x)) - mean|^2   over the pixels M keeps inside the image

Scaling a layer's activations by any factor leaves content and style unchanged, so the same weights work
with the bundled Caffe-scale VGG16 and with torchvision's retrained one, whose activations differ in scale
layer by layer. Relative errors also make content, style and tv comparable numbers near 1 or below, so the
weights say what matters, not how big each layer happens to be.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from fst.config import LossConfig
from fst.data import to_tensor
from fst.errors import ConfigError
from fst.images import load_rgb, resize_long_side
from fst.vgg import RELU_INDEX, VGG16Features, load_vgg16

MIN_STYLE_SIDE = 32  # relu4_3 sees it at 1/8 scale: 4 pixels, the least a Gram matrix of strokes is worth


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C) Gram matrices divided by C*H*W, so image size does not change the scale."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(output: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per image, squared feature distance relative to the target's energy; mean over the batch. `weights`
    (N, 1, H, W), of mean 1 (edge_weights), says where the distance counts more."""
    squared = (output - target).pow(2)
    distance = (squared if weights is None else squared * weights).flatten(1).sum(1)
    return (distance / target.pow(2).flatten(1).sum(1).clamp_min(1e-12)).mean()


def edge_weights(photos: torch.Tensor, size: tuple[int, int], share: float) -> torch.Tensor:
    """(N, 1, *size) weights of mean 1 for the content term: `share` of it along the photos' edges, the rest even.

    Uniform content weight trades the subject against the strokes everywhere alike, so a style strong enough to
    fill a flat sky also dissolves the faces and buildings (loss.content_edges). Here the content term follows the
    luminance gradient (central differences, averaged down to the content layer's size and blurred over 3x3 of
    it): a flat region is left to the style, an outline held. A flat photo gets weight 1 everywhere."""
    luma = (photos * photos.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    padded = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    dx = (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2]) / 2
    dy = (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1]) / 2
    edges = F.interpolate((dx.pow(2) + dy.pow(2)).sqrt(), size=size, mode="area")
    edges = F.avg_pool2d(F.pad(edges, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    eps = 1e-3  # half the gradient of one grey level's step: below it, a photo counts as flat
    relative = (edges + eps) / (edges.mean((2, 3), keepdim=True) + eps)
    return (1 - share) + share * relative


def style_distance(output_gram: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Per image, the squared Gram distance relative to the style Gram's energy; `target_gram` is one style's
    (1, C, C) for the whole batch, or (N, C, C), each image its own style's."""
    distance = (output_gram - target_gram).pow(2).flatten(1).sum(1)
    return distance / target_gram.pow(2).flatten(1).sum(1).clamp_min(1e-12)


def style_loss(output_gram: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of style_distance."""
    return style_distance(output_gram, target_gram).mean()


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels, down and across."""
    down = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    across = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    return down + across


def random_motion(batch: int, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, 2, 3) affine maps (F.affine_grid's convention) of a camera moving between two video frames: a shift of
    up to 2 pixels of a `size`-pixel image, a rotation of up to 1 degree, a zoom of up to 2%."""
    angle = (torch.rand(batch, generator=generator) * 2 - 1) * math.radians(1.0)
    scale = 1 + (torch.rand(batch, generator=generator) * 2 - 1) * 0.02
    shift = (torch.rand(batch, 2, generator=generator) * 2 - 1) * 2 * 2 / size  # normalized: 2 spans the image
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    return torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)


def move(images: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """The images seen by the moved camera, bilinear; zero where the view leaves the image."""
    grid = F.affine_grid(motion.to(images.dtype), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def temporal_loss(moved_output: torch.Tensor, output_moved: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
    """Per image, |f(M(x)+n) - M(f(x))|^2 over the pixels M keeps inside, relative to M(f(x))'s contrast there;
    mean over the batch. 0 for a network that moves exactly with the camera."""
    inside = (move(torch.ones_like(output_moved[:, :1]), motion) > 0.999).to(output_moved.dtype)
    pixels = inside.flatten(1).sum(1).clamp_min(1)
    mean = (output_moved * inside).flatten(2).sum(2) / pixels[:, None]  # (N, C), over the inside pixels
    distance = ((moved_output - output_moved).pow(2) * inside).flatten(1).sum(1)
    contrast = ((output_moved - mean[..., None, None]).pow(2) * inside).flatten(1).sum(1)
    # Both sums run over the same values, so their ratio is that of the means; the floor is 1e-6 per value.
    return (distance / contrast.clamp_min(1e-6 * pixels * output_moved.shape[1])).mean()


class PerceptualLoss(nn.Module):
    """The whole training objective for one style, or several: weighted content + style + total variation.

    The style image's Gram matrices are computed once here. Photos go through VGG only up to the content layer;
    stylized images go through once, up to the deepest layer any term needs. The same module scores Gatys-style
    optimization, so fast networks and optimization are measured against one yardstick.
    """

    def __init__(
        self, vgg: VGG16Features, config: LossConfig, style_image: torch.Tensor | list[torch.Tensor],
        style_weights: list[float] | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        self.vgg = vgg
        self.content_layer = config.content_layer
        self.style_weights = {layer: w for layer, w in config.style_layers.items() if w > 0}
        self.content_weight = config.content_weight
        self.content_edges = config.content_edges
        self.style_weight = config.style_weight
        self.tv_weight = config.tv_weight
        self.output_layers = tuple(sorted({self.content_layer, *self.style_weights}, key=lambda name: RELU_INDEX[name]))
        images = [style_image] if isinstance(style_image, torch.Tensor) else style_image
        # several style images: a style weight for each (config.style_weight_by_style), applied image by image
        weights = torch.tensor(style_weights or [config.style_weight] * len(images), dtype=torch.float32)
        self.register_buffer("style_weight_of", weights, persistent=False)
        with torch.no_grad():  # one row a style image: (styles, C, C) per layer
            features = [vgg(image, tuple(self.style_weights)) for image in images]
        for layer in self.style_weights:
            grams = torch.cat([gram_matrix(f[layer]) for f in features])
            self.register_buffer(f"gram_{layer}", grams, persistent=False)

    def forward(
        self, output: torch.Tensor, photo: torch.Tensor, styles: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Loss terms (unweighted) and their weighted sum under 'total', all float32; `styles`, given several style
        images, the index of each output's style.

        VGG runs in whatever autocast precision the caller chose; Gram matrices and every reduction run in float32,
        where bf16's 8-bit mantissa would lose the small differences the loss is made of.
        """
        target = self.content_target(photo)
        return self.against(output, target, styles, self.content_weights(photo, target))

    @torch.no_grad()
    def content_target(self, photo: torch.Tensor) -> torch.Tensor:
        """The photo's activations at the content layer (VGG runs only that far)."""
        return self.vgg(photo, (self.content_layer,))[self.content_layer]

    @torch.no_grad()
    def content_weights(self, photo: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        """The photo's edge_weights at the content target's size; None (uniform) without loss.content_edges."""
        return edge_weights(photo, target.shape[-2:], self.content_edges) if self.content_edges else None

    def against(
        self, output: torch.Tensor, target: torch.Tensor, styles: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """forward() with the content target (and its edge_weights) already computed: optimizing one image reuses
        it every iteration."""
        features = self.vgg(output, self.output_layers)
        with torch.autocast(output.device.type, enabled=False):
            content = content_loss(features[self.content_layer].float(), target.float(), weights)
            grams = {layer: getattr(self, f"gram_{layer}") for layer in self.style_weights}
            if styles is not None:
                grams = {layer: gram[styles] for layer, gram in grams.items()}
            per_image = sum(
                w * style_distance(gram_matrix(features[layer].float()), grams[layer])
                for layer, w in self.style_weights.items()
            )
            style = per_image.mean()
            if styles is None:
                weighted = self.style_weight * style
            else:  # each image at its style's weight
                weighted = (self.style_weight_of[styles] * per_image).mean()
            tv = total_variation(output.float())
            total = self.content_weight * content + weighted + self.tv_weight * tv
        return {"total": total, "content": content, "style": style, "tv": tv}


def load_style_image(path: str, size: int) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1], long side resized to `size`: the scale of the brush strokes the network learns."""
    try:
        image = load_rgb(path)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise ConfigError(f"style_image: cannot read {path} ({e})") from None
    if min(image.size) * size < MIN_STYLE_SIDE * max(image.size):
        raise ConfigError(
            f"style_image: {path} is {image.width}x{image.height}, too narrow: its short side would be under "
            f"{MIN_STYLE_SIDE} pixels at loss.style_size {size}"
        )
    return to_tensor(resize_long_side(image, size)).unsqueeze(0)


def perceptual_loss(
    config: LossConfig, style: torch.Tensor | list[torch.Tensor], device: torch.device,
    style_weights: list[float] | None = None,
) -> PerceptualLoss:  # fmt: skip
    """The loss for one style image (or several, each with its style weight) on `device`, with VGG16 built only up
    to the deepest layer the config uses."""
    deepest = max([config.content_layer, *config.style_layers], key=RELU_INDEX.__getitem__)
    vgg = load_vgg16(config.vgg_weights, deepest).to(device)
    images = [style] if isinstance(style, torch.Tensor) else style
    return PerceptualLoss(vgg, config, [image.to(device) for image in images], style_weights).to(device)
