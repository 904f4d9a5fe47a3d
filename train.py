"""Train a per-style network from a YAML config, then export it to ONNX (see README.md).

One process (CPU, or the first GPU):
    python train.py --config configs/demo.yaml
    python train.py --config configs/starry_night.yaml --set data.root=/data/coco/train2014 --resume auto

Several GPUs on one machine, or several machines (data.batch_size is per process):
    torchrun --standalone --nproc_per_node=8 train.py --config configs/wave.yaml
    torchrun --nnodes=2 --node_rank=0 --master_addr=10.0.0.1 --master_port=29500 --nproc_per_node=8 \\
        train.py --config configs/wave.yaml

CPU processes work the same way (gloo): torchrun --standalone --nproc_per_node=2 train.py --config ...
"""

from fst.cli.entry import run

if __name__ == "__main__":
    run("train")
