"""Built-in plugin: the seed report's five autoencoders (Net1..Net5 as alt1..alt5).

Layer tables and what is reconstructed vs. known: docs/architectures.md.
"""

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import ArchitectureSpec

SEED_RECIPE = {"loss": "mse", "lr": 0.005, "epochs": 30, "batch_size": 10, "eval_batch_size": 20,
               "optimizer": "adam", "scheduler": {"name": "step", "step_size": 4, "gamma": 0.5}}

# The report's grid search (lr x epochs over alt3..alt5) picked lr=0.01 for alt3/alt4 and
# lr=0.005 for alt5, 30 epochs each. alt1/alt2 were not grid-searched: 0.001 (Adam's default).
SEED_LR = {"alt1": 0.001, "alt2": 0.001, "alt3": 0.01, "alt4": 0.01, "alt5": 0.005}

_FACTORY = "musiclatent.architectures.seed:{}"

SEED_MODELS: dict[str, tuple[str, str, dict]] = {
    "alt1": ("Alt1", "Seed Net1 `autoencoder`: ReLU 1D conv + transposed conv, interpolated to "
             "the input length; 32 x T/64 latent (1/2.0)",
             {"channels": [16, 32], "latent_channels": 32, "strides": [4, 4, 4], "decoder_kernel": 7}),
    "alt2": ("Alt2", "Seed Net2 `autoencoder_alt2`: ReLU 1D conv with max-pool/unpool; "
             "16 x (T/32 + 5) latent (1/2.0)",
             {"channels": [16, 32], "latent_channels": 16, "pool": 2, "unpool": "left"}),
    "alt3": ("Alt3", "Seed Net3 `autoencoder_alt3`: linear 1D conv, 4 x T/6 latent (1/1.5)",
             {"strides": [2, 3], "width": 32, "latent_channels": 4}),
    "alt4": ("Alt4", "Seed Net4 `autoencoder_alt4`: linear 1D conv, 10 x T/30 latent (1/3)",
             {"strides": [2, 3, 5], "width": 32, "latent_channels": 10}),
    "alt5": ("Alt5", "Seed Net5 `autoencoder_alt5`: linear 1D conv, 3 x T/36 latent (1/12)",
             {"strides": [3, 3, 4], "width": 32, "latent_channels": 3}),
}


def seed_spec(name: str) -> ArchitectureSpec:
    """The ``ArchitectureSpec`` of one seed model (``alt1``..``alt5``)."""
    factory, description, defaults = SEED_MODELS[name]
    return ArchitectureSpec(
        name=name,
        description=description,
        factory=_FACTORY.format(factory),
        defaults={**defaults, "sample_rate": DEFAULT_SAMPLE_RATE},
        recipe={**SEED_RECIPE, "lr": SEED_LR[name]},
        sample_rate=DEFAULT_SAMPLE_RATE,
        tags=("seed", "waveform"),
    )


@hookimpl
def register_architectures(register):
    """alt1..alt5."""
    for name in SEED_MODELS:
        register(seed_spec(name))
