"""Which styles a training run teaches, and which style each photo of a step is for.

Three kinds of run share the trainer (fst.trainer):
- one style (`style_image`): the network of one style, as always;
- several (`styles: {name: image, ...}`): one network of several styles (fst.transformer); the photos of a step
  go to the styles in turn, so every style sees as many photos and the order is a function of the step alone,
  which keeps a resumed run exact;
- one more style (`style_image` with `train.init` a network of several): the trained convolutions and styles stay
  frozen and only the new style's instance-norm scales and shifts are learned (Dumoulin et al. 2017), starting
  from the mean of the styles it has. The export holds every style: the old ones unchanged, the new one last,
  named after its image file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from fst.blend import model_styles
from fst.config import Config, LossConfig
from fst.errors import ConfigError
from fst.transformer import TransformerNet


@dataclass
class StyleSet:
    names: list[str]  # every style the network holds, in its order; [] for a network of one style
    images: list[str]  # the file name of each one's style image, in the same order
    loss_images: list[str]  # the style images the loss is computed for (one, unless several)
    adding: bool  # one style added to a trained network of several: only its norms learn

    @property
    def count(self) -> int:
        """How many styles the network holds."""
        return max(1, len(self.names))

    def assign(self, start: int, count: int, device: torch.device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """For the photos at data positions start .. start + count: the index of each one's style among the loss's
        style images, and the network's style weights (one-hot); (None, None) for a network of one style."""
        if not self.names:
            return None, None
        if self.adding:  # every photo for the new style, the last
            weights = F.one_hot(torch.full((count,), self.count - 1), self.count).float()
            return None, weights.to(device)
        styles = torch.arange(start, start + count) % self.count
        return styles.to(device), F.one_hot(styles, self.count).float().to(device)

    def loss_weights(self, loss: LossConfig) -> list[float] | None:
        """The style weight of each style the loss holds, for several: loss.style_weight, or the style's own in
        loss.style_weight_by_style. None for one style (or one added), which style_weight serves."""
        if not self.names or self.adding:
            return None
        return [loss.style_weight_by_style.get(name, loss.style_weight) for name in self.names]

    def trained(self, model: TransformerNet) -> list[torch.nn.Parameter]:
        """The parameters a run trains: all of them, or when adding a style only the norm table (of which
        keep_old_styles lets only the new style's row change)."""
        if not self.adding:
            return list(model.parameters())
        for parameter in model.parameters():
            parameter.requires_grad_(model.norm_table is parameter)
        return [model.norm_table]

    def keep_old_styles(self, model: TransformerNet) -> None:
        """After backward, when adding a style: zero the gradients of the styles the network had, so that Adam,
        whose steps are proportional to them, leaves those rows exactly as they were."""
        if self.adding and model.norm_table.grad is not None:
            model.norm_table.grad[:-1] = 0


def style_set(config: Config, init: TransformerNet | None, init_path: Path | None) -> StyleSet:
    """The styles of a run of `config` that starts from `init`, train.init's network (read from init_path)."""
    if config.styles:
        if init is not None and init.styles not in (1, len(config.styles)):
            raise ConfigError(f"train.init: {init_path} holds {init.styles} styles; styles lists {len(config.styles)}")
        images = list(config.styles.values())
        return StyleSet(list(config.styles), [Path(i).name for i in images], images, adding=False)
    if init is None or init.styles == 1:
        return StyleSet([], [], [config.style_image], adding=False)
    names, images = model_styles(init_path)
    if len(names) != init.styles:  # a checkpoint or file that lost its names: numbered
        names, images = [f"style{i + 1}" for i in range(init.styles)], [""] * init.styles
    name = Path(config.style_image).stem
    if name in names:
        raise ConfigError(f"style_image: train.init {init_path} already holds a style named {name!r}")
    return StyleSet([*names, name], [*images, Path(config.style_image).name], [config.style_image], adding=True)


def widened(init: TransformerNet, styles: StyleSet) -> TransformerNet:
    """train.init's network made ready for this run: with a row more for an added style (the mean of the others),
    and for a run of several styles from a network of one, that network's norms for every style."""
    rows = init.norm_rows()
    if styles.adding:
        return init.with_styles(torch.cat([rows, rows.mean(0, keepdim=True)]))
    if styles.count > 1 and init.styles == 1:
        return init.with_styles(rows.repeat(styles.count, 1))
    return init
