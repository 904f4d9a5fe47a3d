"""Optimize images under the training loss (Gatys et al.):
`python optimize.py --style data/styles/starry_night.jpg --input a.jpg --output b.jpg`."""

from fst.cli.entry import run

if __name__ == "__main__":
    run("optimize")
