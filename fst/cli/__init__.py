"""The command lines: fst-train (train.py), fst-infer (infer.py) and fst-export (python -m fst.export).

They parse arguments, print progress and call the library; nothing in the library imports them.
"""
