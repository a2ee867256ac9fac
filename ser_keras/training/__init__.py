"""Training: strategies (tf.distribute) and jobs (one cell x fold x seed each)."""
from ser_keras.training.runner import ExperimentData, run_dir, run_job
from ser_keras.training.strategy import STRATEGIES, make_strategy

__all__ = ["ExperimentData", "STRATEGIES", "make_strategy", "run_dir", "run_job"]
