"""What a training run minimizes, and the network it trains: the trainer's one variable part (fst.trainer).

An objective owns the network, every loss term and whatever each step draws for them, and says what the trainer
logs (`terms`, "total" first). The trainer owns the rest: data, optimizer, precision, checkpoints, signals.

- StyleObjective: a transformation network under the perceptual loss of one style or several (content, style,
  total variation), with the temporal term when loss.temporal_weight > 0;
- ReconstructionObjective: the arbitrary-style decoder (fst.decoder), which learns to turn VGG16 features back
  into the photo: pixel error plus feature error at loss.feature_layers. It sees no painting;
- fst.distill.DistillObjective: a network under the mean squared error to trained networks' outputs, which also
  brings its own data (a `loader` of fixed crops with their targets, in place of the photo files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from fst.catalogue import init_model
from fst.checkpoint import load_network
from fst.config import Config
from fst.decoder import Decoder
from fst.errors import ConfigError
from fst.losses import content_loss, load_style_image, move, perceptual_loss, random_motion, temporal_loss
from fst.styleset import style_set, widened
from fst.transformer import TransformerNet
from fst.vgg import RELU_INDEX, load_vgg16


class StyleObjective:
    """A TransformerNet for the config's style(s): content + style + tv (+ temporal), fst.losses."""

    def __init__(self, config: Config, device: torch.device) -> None:
        self.config = config
        self.init_from = init_model(config.train.init, Path(config.output.exports_dir))
        init = load_network(self.init_from) if self.init_from else None
        self.styles = style_set(config, init, self.init_from)
        style_images = [load_style_image(image, config.loss.style_size) for image in self.styles.loss_images]
        self.loss_fn = perceptual_loss(config.loss, style_images, device, self.styles.loss_weights(config.loss))
        self.loss_network = self.loss_fn.vgg
        self.temporal_weight = config.loss.temporal_weight
        self.terms = ("total", "content", "style", "tv") + ("temporal",) * (self.temporal_weight > 0)
        torch.manual_seed(config.train.seed)
        model = config.model
        self.model = TransformerNet(model.width, model.res_blocks, model.architecture, self.styles.count).to(device)
        if init is not None:
            self._initialize(widened(init, self.styles))

    def parameters(self) -> list[nn.Parameter]:
        return self.styles.trained(self.model)

    def inputs(self, step: int, rank: int, position: int, photos: torch.Tensor) -> tuple[Any, ...]:
        """What the step draws outside torch.compile: a camera motion and sensor noise for the temporal term (a
        function of seed, step and rank, as the data order is), and each photo's style (StyleSet.assign)."""
        motion = noise = None
        if self.temporal_weight:
            draw = torch.Generator().manual_seed((self.config.train.seed * 1_000_003 + step) * 1009 + rank)
            motion = random_motion(photos.shape[0], photos.shape[-1], draw).to(photos.device)
            noise = (torch.randn(photos.shape, generator=draw) * (2 / 255)).to(photos.device)
        return (motion, noise, *self.styles.assign(position, photos.shape[0], photos.device))

    def losses(
        self, network: nn.Module, photos: torch.Tensor, motion: torch.Tensor | None = None,
        noise: torch.Tensor | None = None, styles: torch.Tensor | None = None, weights: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """The network and the loss on a batch; with a camera motion and noise, also the temporal term on the moved
        photos (one network call for both halves: instance norm keeps images apart, and DistributedDataParallel
        expects one forward per backward). For several styles, `styles` and `weights` say each photo's."""
        if motion is None:
            return self.loss_fn(network(photos, weights), photos, styles)
        both = None if weights is None else torch.cat([weights, weights])
        output, moved_output = network(torch.cat([photos, move(photos, motion) + noise]), both).chunk(2)
        losses = self.loss_fn(output, photos, styles)
        with torch.autocast(photos.device.type, enabled=False):
            temporal = temporal_loss(moved_output.float(), move(output.float(), motion), motion)
        return {**losses, "temporal": temporal, "total": losses["total"] + self.temporal_weight * temporal}

    def after_backward(self) -> None:
        self.styles.keep_old_styles(self.model)

    def checkpoint_fields(self) -> dict[str, Any]:
        return {"styles": self.styles.names, "style_images": self.styles.images}

    def sample_rows(self, previews: torch.Tensor) -> list[torch.Tensor]:
        """The network's versions of the preview photos, a row for each style."""
        count = self.styles.count
        styles = torch.eye(count, device=previews.device) if self.styles.names else [None]
        return [self.model(previews, style) for style in styles]

    def _initialize(self, source: TransformerNet) -> None:
        """Fine-tuning: start from another network's weights (fst.styleset.widened), not its optimizer state."""
        if source.shape() != self.model.shape():
            raise ConfigError(
                f"train.init: {self.init_from} is {source.shape()}; the config asks for {self.model.shape()} "
                "(model.architecture, model.width, model.res_blocks)"
            )
        self.model.load_state_dict(source.state_dict())


class ReconstructionObjective:
    """A Decoder from model.encoder_layer (fst.decoder), trained two ways at once from one encoder pass:

    blocks   each block from the photo's own features at its level to those of the level below (the last to the
             photo), as relative errors (fst.losses.content_loss), summed: what lets the painting's statistics be
             given level by level;
    pixel    the whole decoder from the deepest level: mean squared pixel error, times loss.pixel_weight;
    feature  the same output's relative feature error at each of loss.feature_layers, by weight: sharpness.
    """

    def __init__(self, config: Config, device: torch.device) -> None:
        loss = config.loss
        self.feature_weights = {layer: w for layer, w in loss.feature_layers.items() if w > 0}
        self.pixel_weight = loss.pixel_weight
        torch.manual_seed(config.train.seed)
        self.model = Decoder(config.model.encoder_layer, config.model.width).to(device)
        self.levels = self.model.levels
        deepest = max([*self.levels, *self.feature_weights], key=RELU_INDEX.__getitem__)
        self.loss_network = load_vgg16(loss.vgg_weights, deepest).to(device)
        self.terms = ("total", "blocks", "pixel", "feature")

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def inputs(self, step: int, rank: int, position: int, photos: torch.Tensor) -> tuple[Any, ...]:
        return ()

    def losses(self, network: nn.Module, photos: torch.Tensor) -> dict[str, torch.Tensor]:
        with torch.no_grad():
            target = self.loss_network(photos, (*self.levels, *self.feature_weights))
        decoder = getattr(network, "module", network)  # the blocks, also under DistributedDataParallel
        below = {level: target[previous] for level, previous in zip(self.levels[1:], self.levels)}
        below[self.levels[0]] = photos
        rebuilt = {level: decoder.blocks[level](target[level]) for level in self.levels}
        output = network(target[self.levels[-1]])
        features = self.loss_network(output, tuple(self.feature_weights)) if self.feature_weights else {}
        with torch.autocast(photos.device.type, enabled=False):
            blocks = sum(content_loss(rebuilt[level].float(), below[level].float()) for level in self.levels)
            pixel = (output.float() - photos.float()).pow(2).mean()
            feature = sum((w * content_loss(features[layer].float(), target[layer].float())
                           for layer, w in self.feature_weights.items()), torch.zeros((), device=photos.device))  # fmt: skip
        return {"total": blocks + self.pixel_weight * pixel + feature, "blocks": blocks, "pixel": pixel,
                "feature": feature}  # fmt: skip

    def after_backward(self) -> None:
        pass

    def checkpoint_fields(self) -> dict[str, Any]:
        return {}

    def sample_rows(self, previews: torch.Tensor) -> list[torch.Tensor]:
        """The photos as the whole decoder rebuilds them from their deepest features."""
        features = self.loss_network(previews, (self.levels[-1],))[self.levels[-1]]
        return [self.model(features).clamp(0, 1)]
