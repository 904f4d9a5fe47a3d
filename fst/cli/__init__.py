"""The command lines: fst-train (train.py), fst-distill (distill.py), fst-infer (infer.py), fst-export
(python -m fst.export) and fst-serve (python -m fst.serve).

They parse arguments, print progress and call the library; nothing in the library imports them.
"""
