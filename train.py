"""Train a per-style network: `python train.py --config configs/demo.yaml` (see README.md)."""

from fst.trainer import cli

if __name__ == "__main__":
    cli()
