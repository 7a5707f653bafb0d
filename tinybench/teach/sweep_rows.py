"""Find a chosen variant's siblings in a sweep: same width, other recipes.

Notebook 03 saves one variant; the lessons in notebook 03b compare it with the float32 variant
the sweep made from the same trained weights (same width), and with the pruned variants of that
width. The width is found by matching the saved ``.tflite`` bytes against the sweep's rows.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from tinybench.errors import ConfigError
from tinybench.measure import model_bytes
from tinybench.sweep import load_variant

__all__ = ["float_sibling", "variant_width", "width_variants"]


def variant_width(results: pd.DataFrame, variant: Any) -> float:
    """The sweep width at which ``variant`` was made.

    The row whose cached ``.tflite`` has the same bytes decides; a sweep of one width needs
    no match.

    Raises:
        ConfigError: The sweep holds several widths and none of its variants has these bytes.
    """
    widths = sorted(set(results["width"]))
    digest = hashlib.sha256(model_bytes(variant)).hexdigest()
    for _, row in results.iterrows():
        if pd.isna(row.get("accuracy")):
            continue
        if hashlib.sha256(load_variant(row).tflite).hexdigest() == digest:
            return float(row["width"])
    if len(widths) == 1:
        return float(widths[0])
    raise ConfigError(
        f"The chosen variant is none of this sweep's {len(results)} variants (widths {widths}). "
        "Run notebook 03 again with the same GRID, CACHE_DIR and dataset, then this notebook."
    )


def width_variants(results: pd.DataFrame, variant: Any) -> dict[str, Any]:
    """Every variant of the sweep made at the chosen variant's width, by recipe id.

    Rows that failed are left out.
    """
    width = variant_width(results, variant)
    rows = results[(results["width"] == width) & results["accuracy"].notna()]
    return {str(row["recipe"]): load_variant(row) for _, row in rows.iterrows()}


def float_sibling(results: pd.DataFrame, variant: Any) -> Any:
    """The sweep's float32 variant at the chosen variant's width: the same trained weights.

    Raises:
        ConfigError: The sweep has no float32 variant at that width.
    """
    siblings = width_variants(results, variant)
    if "float32" not in siblings:
        raise ConfigError(
            f"The sweep has no float32 variant at this width (it has {sorted(siblings)}). "
            "Add 'float32' to the grid's recipes and run notebook 03 again."
        )
    return siblings["float32"]
