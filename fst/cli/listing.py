"""`fst-infer --list`: the shipped styles, a row each, the size of each of its files in columns, and their terms."""

from __future__ import annotations

from fst.catalogue import SHIPPED_TERMS, ModelName, shipped_models

FILE_KINDS = ("full", "int8", "fast", "stable", "stable-int8", "fast-stable")  # the columns of --list, in order


def list_styles() -> int:
    """infer.py --list: a row per shipped style, the size of each of its files in columns, and the terms."""
    models = shipped_models()
    if not models:
        print("no shipped styles here (a checkout's exports/models.json or an installed package's)")
        return 0
    sizes: dict[str, dict[str, float]] = {}
    notes: dict[str, str] = {}
    for m in models:
        name = ModelName.parse(m["file"])
        kind = "int8" if name.variant == "full" and name.int8 else name.variant + "-int8" * name.int8
        sizes.setdefault(m["style"], {})[kind] = m["bytes"] / 2**20
        if "styles" in m:
            notes[m["style"]] = f"{len(m['styles'])} styles ({', '.join(m['styles'])}): --style NAME=WEIGHT,..."
        if m.get("kind") == "arbitrary":
            notes[m["style"]] = "any painting, no training: --painting IMAGE"
    kinds = [k for k in FILE_KINDS if any(k in row for row in sizes.values())]
    kinds += sorted({k for row in sizes.values() for k in row} - set(kinds))
    print(f"{'style':<14}" + "".join(f"{kind:>13}" for kind in kinds) + "   (MB)")
    for style, row in sizes.items():
        cells = "".join(f"{row[kind]:>13.1f}" if kind in row else f"{'-':>13}" for kind in kinds)
        print(f"{style:<14}{cells}" + (f"   {notes[style]}" if style in notes else ""))
    print(
        "run one with --model STYLE (the variant and precision are chosen for this machine and the input: stable "
        "for videos; --fast, --no-int8, --no-temporal)"
    )
    print(f"terms: {SHIPPED_TERMS}")
    return 0
