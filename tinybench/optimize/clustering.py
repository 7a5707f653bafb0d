"""Weight clustering: each compressed kernel keeps a few distinct values (k-means++ centroids)."""

from __future__ import annotations

from typing import Any

from tinybench.optimize.fine_tune import (
    DEFAULT_TUNING,
    FineTuning,
    TrainingData,
    clone_model,
    fine_tune,
    layers_to_compress,
    rebuild,
    refusing,
)
from tinybench.optimize.recipe import Recipe
from tinybench.tf_runtime import load_tfmot

__all__ = ["cluster"]


def cluster(
    model: Any,
    data: TrainingData,
    n_clusters: int,
    *,
    tuning: FineTuning = DEFAULT_TUNING,
) -> Any:
    """Weight clustering: each kernel of :func:`compressed_layers` keeps ``n_clusters`` values.

    Centroids start from k-means++ on the trained weights; fine-tuning moves them. Clustering
    alone does not shrink the flatbuffer; it makes weights compress well (gzip, or TFLM's LUT
    compression).

    Args:
        model: The trained model (left untouched).
        data: Normalized training data.
        n_clusters: Distinct values per clustered kernel, 2 to 256.
        tuning: Fine-tuning settings: epochs, seed, progress bar, learning rate.

    Returns:
        A plain (stripped) Keras model.

    Raises:
        RecipeError: The model has no layer worth clustering, or tfmot cannot cluster it.
    """
    recipe = Recipe("cluster", clusters=n_clusters, epochs=tuning.epochs)
    clustering = load_tfmot().clustering.keras
    clone = clone_model(model)
    chosen = layers_to_compress(clone, "cluster")

    def wrap(layer: Any) -> Any:
        if layer.name not in chosen:
            return layer
        return clustering.cluster_weights(
            layer,
            number_of_clusters=recipe.clusters,
            cluster_centroids_init=clustering.CentroidInitialization.KMEANS_PLUS_PLUS,
        )

    with refusing("cluster", "tfmot cannot cluster this model"):
        wrapped = rebuild(clone, wrap)
    fine_tune(wrapped, model, data, tuning)
    return clustering.strip_clustering(wrapped)
