"""Built-in plugin: the seed report's five autoencoders (Net1..Net5 as alt1..alt5)."""

from musiclatent.hookspecs import hookimpl
from musiclatent.registry import ArchitectureSpec

SEED_RECIPE = {"loss": "mse", "lr": 0.005, "epochs": 30, "batch_size": 10, "eval_batch_size": 20,
               "optimizer": "adam", "scheduler": {"name": "step", "step_size": 4, "gamma": 0.5}}


@hookimpl
def register_architectures(register):
    """alt1..alt5."""
