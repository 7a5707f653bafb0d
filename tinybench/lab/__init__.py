"""The lab around the notebooks: the environment check, headless notebook runs, ``make demo``."""

from tinybench.lab.demo import DemoReport, notebook_paths, run_demo
from tinybench.lab.environment import EnvironmentReport, check_environment
from tinybench.lab.notebooks import kernel_name, run_notebook

__all__ = [
    "DemoReport",
    "EnvironmentReport",
    "check_environment",
    "kernel_name",
    "notebook_paths",
    "run_demo",
    "run_notebook",
]
