"""Teaching: open the box of a model, on the student's own model, checked against TFLM.

``quant_params`` reads a layer's scales and zero points from the flatbuffer; ``hand_compute``
recomputes a layer with TFLM's integer arithmetic (``integer_math``) and compares bit for bit;
``layer_error`` shows where int8 loses against float; ``pruning_view`` shows zeros and bytes;
``memory_plan`` draws the arena; ``exercises`` and ``pipeline_exercises`` hold the self-checks.
``intermediates`` and ``sweep_rows`` find the tensors and sibling variants the lessons need.
"""

from tinybench.teach.arena_view import PlanUnavailable, show_memory_plan
from tinybench.teach.exercises import (
    CheckResult,
    HandExercise,
    check_flash_saving,
    check_hand_output,
    check_most_damaged_layer,
    hand_exercise,
)
from tinybench.teach.hand_compute import HandComputation, compute_by_hand, default_layer
from tinybench.teach.layer_error import LayerErrors, layer_errors, plot_layer_errors
from tinybench.teach.memory_plan import (
    MemoryPlan,
    PlanBuffer,
    memory_plan,
    parse_plan,
    plot_memory_plan,
)
from tinybench.teach.pipeline_exercises import (
    check_fits_ram,
    check_flash_bytes,
    check_test_accuracy,
)
from tinybench.teach.pruning_view import (
    PruningComparison,
    compare_pruning,
    plot_pruned_weights,
    sweep_pruning,
)
from tinybench.teach.quant_params import (
    LayerQuantization,
    layer_quantization,
    plot_weight_histograms,
)
from tinybench.teach.sweep_rows import float_sibling, width_variants

__all__ = [
    "CheckResult",
    "HandComputation",
    "HandExercise",
    "LayerErrors",
    "LayerQuantization",
    "MemoryPlan",
    "PlanBuffer",
    "PlanUnavailable",
    "PruningComparison",
    "check_fits_ram",
    "check_flash_bytes",
    "check_flash_saving",
    "check_hand_output",
    "check_most_damaged_layer",
    "check_test_accuracy",
    "compare_pruning",
    "compute_by_hand",
    "default_layer",
    "float_sibling",
    "hand_exercise",
    "layer_errors",
    "layer_quantization",
    "memory_plan",
    "parse_plan",
    "plot_layer_errors",
    "plot_memory_plan",
    "plot_pruned_weights",
    "plot_weight_histograms",
    "show_memory_plan",
    "sweep_pruning",
    "width_variants",
]
