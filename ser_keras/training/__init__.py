"""Training: the recipe (optimizer, schedule, loss), tasks, jobs and tf.distribute strategies."""
from ser_keras.training.runner import ExperimentData, JobContext, Outcome, run_dir, run_job
from ser_keras.training.strategy import STRATEGIES, make_strategy
from ser_keras.training.tasks import TASKS, LateFusionTask, SupervisedTask, Task

__all__ = ["ExperimentData", "JobContext", "LateFusionTask", "Outcome", "STRATEGIES",
           "SupervisedTask", "TASKS", "Task", "make_strategy", "run_dir", "run_job"]
