import pytest
import torch

from fst.transformer import TransformerNet


@pytest.mark.parametrize("size", [(33, 47), (8, 8), (64, 30), (101, 9)])
def test_any_size_in_same_size_out_in_unit_range(size):
    model = TransformerNet(width=8, res_blocks=2).eval()
    out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert out.min() >= 0 and out.max() <= 1


def test_images_in_a_batch_do_not_affect_each_other():
    torch.manual_seed(0)
    model = TransformerNet(width=8, res_blocks=1).eval()
    batch = torch.rand(3, 3, 20, 28)
    with torch.no_grad():
        together = model(batch)
        alone = model(batch[1:2])
    torch.testing.assert_close(together[1:2], alone, rtol=1e-5, atol=1e-6)


def test_default_architecture():
    model = TransformerNet()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size[0] for c in convs] == [9, 3, 3] + [3] * 10 + [3, 3, 9]
    assert [c.out_channels for c in convs] == [32, 64, 128] + [128] * 10 + [64, 32, 3]
    norms = [m for m in model.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == len(convs) - 1 and all(n.affine for n in norms)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.modules())
    assert [c.bias is None for c in convs] == [True] * 15 + [False]  # instance norm follows all but the last
    assert sum(p.numel() for p in model.parameters()) == 1_679_235 - (32 + 64 + 128 + 10 * 128 + 64 + 32)


@pytest.mark.parametrize("size", [(33, 47), (8, 8), (101, 9)])
def test_realtime_architecture_any_size_in_same_size_out(size):
    model = TransformerNet(width=8, res_blocks=1, architecture="realtime").eval()
    out = model(torch.rand(2, 3, *size))
    assert out.shape == (2, 3, *size)
    assert out.min() >= 0 and out.max() <= 1


def test_realtime_architecture_has_no_full_resolution_layer_and_separable_blocks():
    model = TransformerNet(architecture="realtime")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    # 12 -> 32 (half size), 32 -> 64 stride 2 and the blocks depthwise (groups = channels) then 1x1, 32 -> 12
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.groups) for c in convs] == [
        (12, 32, 3, 1), (32, 32, 3, 32), (32, 64, 1, 1), *[(64, 64, 3, 64), (64, 64, 1, 1)] * 10,
        (64, 64, 3, 64), (64, 32, 1, 1), (32, 12, 3, 1),
    ]  # fmt: skip
    # by hand: 3456+64 (first) + 288+2048+128 (down) + 10 * (576+4096+128) + 576+2048+64 (up) + 3456+12 (last)
    assert sum(p.numel() for p in model.parameters()) == 60_140
    with torch.no_grad():  # a 2x2 block of the input is the 12 channels of one position at half size
        assert model.net[0](torch.arange(12.0).view(1, 3, 2, 2)).flatten().tolist() == list(range(12))


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="architecture 'mobile': expected one of johnson, realtime"):
        TransformerNet(architecture="mobile")


def test_a_network_of_several_styles_is_each_of_them_and_their_blends():
    """Each style owns a row of instance-norm scales and shifts; one-hot weights give that style's network of one
    style, and a blend gives the network whose row is the blend of the rows."""
    torch.manual_seed(0)
    for architecture in ("johnson", "realtime"):
        one = TransformerNet(8, 1, architecture)
        rows = one.norm_rows().repeat(3, 1) + torch.randn(3, one.norm_rows().shape[1]) * 0.3
        three = one.with_styles(rows)
        assert three.shape().endswith("holding 3 styles") and list(three.state_dict())[0] == "norm_table"
        image = torch.rand(2, 3, 36, 44)
        with torch.no_grad():
            for i in range(3):
                alone = three.with_styles(rows[i : i + 1])
                assert torch.allclose(three(image, torch.eye(3)[i]), alone(image), atol=1e-6)
            mix = torch.tensor([0.5, 0.25, 0.25])
            assert torch.allclose(three(image, mix), one.with_styles(mix[None] @ rows)(image), atol=1e-6)
            assert torch.equal(three(image), three(image, torch.eye(3)[0]))  # no weights: the first style
            per_image = three(image, torch.eye(3)[[2, 0]])  # (N, styles): each image its own style
            assert torch.allclose(per_image[0], three(image[:1], torch.eye(3)[2])[0], atol=1e-6)
        again = one.with_styles(one.norm_rows()).state_dict()  # one row: back to a network of one style
        assert list(again) == list(one.state_dict())
        assert all(torch.equal(again[k], v) for k, v in one.state_dict().items())
