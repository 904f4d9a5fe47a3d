"""The image transformation network of Johnson et al. (2016), with instance normalization.

Changes from the paper, all standard since: instance norm instead of batch norm (Ulyanov et al. 2016),
reflection padding instead of zero padding (no dark borders), and nearest upsampling followed by a convolution
instead of transposed convolutions (no checkerboard artifacts, Odena et al. 2016).

A second architecture, "realtime", is built for CPUs and the browser, where the arithmetic of full-resolution
layers and of dense 3x3 convolutions on 128 channels dominates. It folds each 2x2 block of pixels into channels
(PixelUnshuffle) so that no layer runs at full resolution, replaces the 9x9 convolutions with 3x3 ones, and makes
every 3x3 convolution past the first depthwise-separable (a per-channel 3x3, then a 1x1 across channels). The
resolutions it works at are those of the Johnson network (the residual blocks at a quarter of the side), so the
strokes it learns from a Johnson teacher keep their size. docs/realtime.md has what each choice costs and buys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

ARCHITECTURES = ("johnson", "realtime")


class ConvLayer(nn.Sequential):
    """Reflection pad, convolution (dense, or depthwise then 1x1 if `separable`), then instance norm and ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int = 1, norm: bool = True, relu: bool = True,
        separable: bool = False,
    ) -> None:  # fmt: skip
        # Instance norm subtracts the mean, so a bias before it does nothing but drift on rounding noise.
        if separable:
            depthwise = nn.Conv2d(cin, cin, kernel, stride, groups=cin, bias=False)
            convs = [depthwise, nn.Conv2d(cin, cout, 1, bias=not norm)]
        else:
            convs = [nn.Conv2d(cin, cout, kernel, stride, bias=not norm)]
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), *convs]
        if norm:
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, separable: bool = False) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3, separable=separable),
            ConvLayer(channels, channels, 3, relu=False, separable=separable),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest-neighbour 2x upsampling, then a convolution."""

    def __init__(self, cin: int, cout: int, separable: bool = False) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, 3, separable=separable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


SIDE_MULTIPLE = 4  # both architectures halve the sides twice on the way down


def pad_to_multiple(image: torch.Tensor) -> torch.Tensor:
    """Reflection-pad the right and bottom of (N, C, H, W) `image` so both sides are multiples of SIDE_MULTIPLE."""
    height, width = image.shape[-2:]
    pad_bottom, pad_right = (-height) % SIDE_MULTIPLE, (-width) % SIDE_MULTIPLE
    if not pad_bottom and not pad_right:
        return image
    return F.pad(image, (0, pad_right, 0, pad_bottom), mode="reflect")


class TransformerNet(nn.Module):
    """RGB image in [0, 1] of any size -> stylized RGB image in [0, 1] of the same size.

    The two stride-2 convolutions need sides divisible by 4: other sizes are reflection-padded on the right and
    bottom and cropped back after, so every pixel of the output corresponds to one of the input. The exported
    graph is `stylize_padded` alone, so that it needs no runtime shape arithmetic (see fst.export).
    """

    def __init__(self, width: int = 32, res_blocks: int = 5, architecture: str = "johnson") -> None:
        super().__init__()
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture {architecture!r}: expected one of {', '.join(ARCHITECTURES)}")
        self.width, self.res_blocks, self.architecture = width, res_blocks, architecture
        if architecture == "johnson":
            layers = [
                ConvLayer(3, width, 9),
                ConvLayer(width, 2 * width, 3, stride=2),
                ConvLayer(2 * width, 4 * width, 3, stride=2),
                *[ResidualBlock(4 * width) for _ in range(res_blocks)],
                UpsampleConv(4 * width, 2 * width),
                UpsampleConv(2 * width, width),
                ConvLayer(width, 3, 9, norm=False, relu=False),
            ]
        else:  # realtime: the same resolutions from half size up, 2x2 pixels folded into 12 channels
            layers = [
                nn.PixelUnshuffle(2),
                ConvLayer(12, width, 3),
                ConvLayer(width, 2 * width, 3, stride=2, separable=True),
                *[ResidualBlock(2 * width, separable=True) for _ in range(res_blocks)],
                UpsampleConv(2 * width, width, separable=True),
                ConvLayer(width, 12, 3, norm=False, relu=False),
                nn.PixelShuffle(2),
            ]
        self.net = nn.Sequential(*layers)

    def shape(self) -> str:
        """What the weights fit, in words: two networks of the same shape can take each other's weights."""
        return f"a {self.architecture} network of width {self.width} with {self.res_blocks} residual blocks"

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        height, width = image.shape[-2:]
        return self.stylize_padded(pad_to_multiple(image))[..., :height, :width]

    def stylize_padded(self, image: torch.Tensor) -> torch.Tensor:
        """The network on an image whose sides are already multiples of SIDE_MULTIPLE."""
        # A sigmoid keeps the output a valid image without the dead gradients of clamping.
        return torch.sigmoid(self.net(image))
