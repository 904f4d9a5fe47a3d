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

Either architecture can hold several styles (`styles` > 1): the convolutions are shared, and each style owns only
the scale and shift of every instance norm (conditional instance normalization, Dumoulin et al. 2017), one row of
`norm_table`. The network then takes a weight per style: one-hot for one style, any mix for a blend (the scales
and shifts are mixed, not the pictures), so a runtime blends styles per frame at no extra cost.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from fst.architectures import SIDE_MULTIPLE, TRANSFORMER_ARCHITECTURES


class StyleNorm(nn.Module):
    """Instance norm with the scale and shift of the style(s) asked for: columns `offset` to `offset + channels`
    of the scales and of the shifts that TransformerNet mixed from its norm_table for this image."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels)  # no weights of its own: TorchBackend's tiling hooks find it
        self.channels, self.offset = channels, 0  # the offset is set by TransformerNet, which knows the order

    def forward(self, x: torch.Tensor, affine: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        scales, shifts = (a[:, self.offset : self.offset + self.channels, None, None] for a in affine)
        return self.norm(x) * scales + shifts


class ConvLayer(nn.Sequential):
    """Reflection pad, convolution (dense, or depthwise then 1x1 if `separable`), then instance norm and ReLU."""

    def __init__(
        self, cin: int, cout: int, kernel: int, stride: int = 1, norm: bool = True, relu: bool = True,
        separable: bool = False, styles: int = 1,
    ) -> None:  # fmt: skip
        # Instance norm subtracts the mean, so a bias before it does nothing but drift on rounding noise.
        if separable:
            depthwise = nn.Conv2d(cin, cin, kernel, stride, groups=cin, bias=False)
            convs = [depthwise, nn.Conv2d(cin, cout, 1, bias=not norm)]
        else:
            convs = [nn.Conv2d(cin, cout, kernel, stride, bias=not norm)]
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), *convs]
        if norm:
            layers.append(nn.InstanceNorm2d(cout, affine=True) if styles == 1 else StyleNorm(cout))
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)

    def forward(self, x: torch.Tensor, affine: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        for layer in self:
            x = layer(x, affine) if isinstance(layer, StyleNorm) else layer(x)
        return x


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, separable: bool = False, styles: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3, separable=separable, styles=styles),
            ConvLayer(channels, channels, 3, relu=False, separable=separable, styles=styles),
        )

    def forward(self, x: torch.Tensor, affine: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        return x + self.body[1](self.body[0](x, affine), affine)


class UpsampleConv(nn.Module):
    """Nearest-neighbour 2x upsampling, then a convolution."""

    def __init__(self, cin: int, cout: int, separable: bool = False, styles: int = 1) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, 3, separable=separable, styles=styles)

    def forward(self, x: torch.Tensor, affine: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"), affine)


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

    def __init__(self, width: int = 32, res_blocks: int = 5, architecture: str = "johnson", styles: int = 1) -> None:
        super().__init__()
        if architecture not in TRANSFORMER_ARCHITECTURES:
            raise ValueError(f"architecture {architecture!r}: expected one of {', '.join(TRANSFORMER_ARCHITECTURES)}")
        if styles < 1:
            raise ValueError(f"styles {styles}: expected 1 or more")
        self.width, self.res_blocks, self.architecture, self.styles = width, res_blocks, architecture, styles
        s = {"styles": styles}
        if architecture == "johnson":
            layers = [
                ConvLayer(3, width, 9, **s),
                ConvLayer(width, 2 * width, 3, stride=2, **s),
                ConvLayer(2 * width, 4 * width, 3, stride=2, **s),
                *[ResidualBlock(4 * width, **s) for _ in range(res_blocks)],
                UpsampleConv(4 * width, 2 * width, **s),
                UpsampleConv(2 * width, width, **s),
                ConvLayer(width, 3, 9, norm=False, relu=False),
            ]
        else:  # realtime: the same resolutions from half size up, 2x2 pixels folded into 12 channels
            layers = [
                nn.PixelUnshuffle(2),
                ConvLayer(12, width, 3, **s),
                ConvLayer(width, 2 * width, 3, stride=2, separable=True, **s),
                *[ResidualBlock(2 * width, separable=True, **s) for _ in range(res_blocks)],
                UpsampleConv(2 * width, width, separable=True, **s),
                ConvLayer(width, 12, 3, norm=False, relu=False),
                nn.PixelShuffle(2),
            ]
        self.net = nn.Sequential(*layers)
        if styles > 1:
            norms = [m for m in self.modules() if isinstance(m, StyleNorm)]
            for norm, offset in zip(norms, itertools.accumulate([0] + [n.channels for n in norms])):
                norm.offset = offset
            columns = sum(n.channels for n in norms)
            # Each row one style: the scales of every norm in layer order, then their shifts; a fresh style is
            # the identity, as a fresh nn.InstanceNorm2d(affine=True) is.
            self.norm_table = nn.Parameter(torch.cat([torch.ones(styles, columns), torch.zeros(styles, columns)], 1))

    def shape(self) -> str:
        """What the weights fit, in words: two networks of the same shape can take each other's weights."""
        held = f" holding {self.styles} styles" if self.styles > 1 else ""
        return f"a {self.architecture} network of width {self.width} with {self.res_blocks} residual blocks{held}"

    def norm_rows(self) -> torch.Tensor:
        """Each style's instance-norm scales and shifts, one row a style in norm_table's layout; a network of one
        style gives its one row, so it can seed a network of several."""
        if self.styles > 1:
            return self.norm_table.detach().clone()
        norms = [m for m in self.modules() if isinstance(m, nn.InstanceNorm2d)]
        return torch.cat([n.weight for n in norms] + [n.bias for n in norms]).detach()[None].clone()

    def with_styles(self, rows: torch.Tensor) -> TransformerNet:
        """A network with these convolutions and one style per row of `rows` (norm_rows' layout): how a network of
        one style seeds one of several, and how a new style is added to a trained one."""
        network = TransformerNet(self.width, self.res_blocks, self.architecture, rows.shape[0])
        convs = [[m for m in net.modules() if isinstance(m, nn.Conv2d)] for net in (self, network)]
        for source, target in zip(*convs):
            target.load_state_dict(source.state_dict())
        if network.styles > 1:
            network.norm_table.data.copy_(rows)
            return network
        norms = [m for m in network.modules() if isinstance(m, nn.InstanceNorm2d)]
        scales, shifts = rows[0].chunk(2)
        for norm, scale, shift in zip(norms, scales.split([n.num_features for n in norms]),
                                      shifts.split([n.num_features for n in norms])):  # fmt: skip
            norm.weight.data.copy_(scale)
            norm.bias.data.copy_(shift)
        return network

    def forward(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        height, width = image.shape[-2:]
        return self.stylize_padded(pad_to_multiple(image), style)[..., :height, :width]

    def stylize_padded(self, image: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        """The network on an image whose sides are already multiples of SIDE_MULTIPLE. `style`, for a network of
        several styles: a weight per style, (styles,) for every image of the batch or (N, styles) for each its
        own; the first style alone when None."""
        x, affine = image, None
        if self.styles > 1:
            weights = torch.eye(self.styles, 1).T if style is None else style
            mixed = weights.reshape(-1, self.styles).to(self.norm_table.dtype) @ self.norm_table
            affine = mixed.chunk(2, dim=1)
        for layer in self.net:
            x = layer(x, affine) if isinstance(layer, (ConvLayer, ResidualBlock, UpsampleConv)) else layer(x)
        # A sigmoid keeps the output a valid image without the dead gradients of clamping.
        return torch.sigmoid(x)
