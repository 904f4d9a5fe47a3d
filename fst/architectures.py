"""The networks fst trains, by name, without PyTorch: what a config may ask for (fst.config, checked before torch
loads), what fst.transformer and fst.decoder build, the side multiple fst.transformer's networks need (fst.backends
pads to it) and the smallest side they run on; the VGG16 layers a loss may name (fst.vgg). A new architecture: its
name here, its network in fst.transformer or fst.decoder."""

TRANSFORMER_ARCHITECTURES = ("johnson", "realtime")  # what fst.transformer builds: a network for its style(s)
ARCHITECTURES = (*TRANSFORMER_ARCHITECTURES, "decoder")  # decoder: fst.decoder, for any painting, trained on photos
DECODER_LEVELS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")  # shallow to deep: where a painting's statistics apply
ENCODER_LAYERS = DECODER_LEVELS[:0:-1]  # where a decoder's VGG16 encoder may stop: relu4_1, relu3_1, relu2_1
SIDE_MULTIPLE = 4  # both of fst.transformer's architectures halve the sides twice on the way down
MIN_SIDE = 8  # two stride-2 convolutions, then 3x3 reflection padding: smaller sides cannot be padded
# The VGG16 layers a loss may name, shallow to deep (fst.vgg builds the network); the bundled weights end at relu4_3.
VGG_LAYERS = (
    "relu1_1", "relu1_2",
    "relu2_1", "relu2_2",
    "relu3_1", "relu3_2", "relu3_3",
    "relu4_1", "relu4_2", "relu4_3",
    "relu5_1", "relu5_2", "relu5_3",
)  # fmt: skip
BUNDLED_VGG_LAYERS = VGG_LAYERS[: VGG_LAYERS.index("relu4_3") + 1]
