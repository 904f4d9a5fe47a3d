"""The command lines: fst-train (train.py), fst-distill (distill.py), fst-infer (infer.py), fst-export
(python export.py) and fst-serve (python serve.py).

They parse arguments, print progress and call the library; nothing in the library imports them.
"""
