"""What a run minimizes: the style objective's terms, and the decoder's reconstruction objective, trained and
resumed by the same Trainer."""

import torch
from conftest import tiny_config

from fst.checkpoint import load_checkpoint
from fst.losses import content_loss
from fst.objectives import ReconstructionObjective, StyleObjective
from fst.trainer import Trainer, objective_for

DECODER = {"model": {"architecture": "decoder", "encoder_layer": "relu2_1", "width": 8}}


def decoder_config(tmp_path, steps=4, **loss):
    return tiny_config(tmp_path, style_image="", train={"steps": steps}, **DECODER, loss={"pixel_weight": 10.0, **loss})


def test_each_architecture_gets_its_objective(tmp_path):
    style = objective_for(tiny_config(tmp_path), torch.device("cpu"), [])
    assert isinstance(style, StyleObjective) and style.terms == ("total", "content", "style", "tv")
    stable = objective_for(tiny_config(tmp_path, loss={"temporal_weight": 1.0}), torch.device("cpu"), [])
    assert stable.terms[-1] == "temporal"
    decoder = objective_for(decoder_config(tmp_path), torch.device("cpu"), [])
    assert isinstance(decoder, ReconstructionObjective) and decoder.terms == ("total", "blocks", "pixel", "feature")


def test_the_reconstruction_loss_is_block_errors_plus_weighted_pixel_and_feature_errors(tmp_path):
    objective = ReconstructionObjective(decoder_config(tmp_path, feature_layers={"relu1_1": 2.0, "relu2_1": 0.0}),
                                        torch.device("cpu"))  # fmt: skip
    photos = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    vgg = objective.loss_network
    real = vgg(photos, ("relu1_1", "relu2_1"))
    grey = torch.full_like(photos, 0.5)

    class Grey(torch.nn.Module):  # the whole decoder gives grey; its blocks are the objective's own
        blocks = objective.model.blocks

        def forward(self, features):
            return grey

    losses = objective.losses(Grey(), photos)
    blocks = content_loss(objective.model.blocks["relu2_1"](real["relu2_1"]), real["relu1_1"])
    blocks = blocks + content_loss(objective.model.blocks["relu1_1"](real["relu1_1"]), photos)
    pixel = ((grey - photos) ** 2).mean()
    feature = 2.0 * content_loss(vgg(grey, ("relu1_1",))["relu1_1"], real["relu1_1"])
    assert torch.allclose(losses["blocks"], blocks) and torch.allclose(losses["pixel"], pixel)
    assert torch.allclose(losses["feature"], feature)
    assert torch.allclose(losses["total"], blocks + 10 * pixel + feature)


def test_a_decoder_trains_and_resumes_bit_identically(tmp_path):
    straight = Trainer(decoder_config(tmp_path / "a", steps=6))
    seen = []
    straight.run(seen.append)
    assert set(seen[-1].losses) == {"total", "blocks", "pixel", "feature"}
    Trainer(decoder_config(tmp_path / "b", steps=3)).run()
    resumed = Trainer(decoder_config(tmp_path / "b", steps=6), resume="auto")
    assert resumed.step == 3
    resumed.run()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    state = load_checkpoint(tmp_path / "a" / "runs" / "tiny" / "last.pt")
    assert state["config"]["model"]["architecture"] == "decoder" and "styles" not in state
