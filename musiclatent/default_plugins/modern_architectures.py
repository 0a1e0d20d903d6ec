"""Built-in plugin: the modern architectures, ``wave12/48/192``, ``mel12/48/192``, ``hybrid12`` and ``sparse12``.

``waveNN`` is ``musiclatent.architectures.modern.WaveAutoencoder`` and ``melNN`` is
``musiclatent.architectures.spectral.MelAutoencoder``, each configured so that the encoding scale is
exactly 1/NN (latent values per second = 22050 / NN). No heavy imports here: the factories are
import strings, resolved only when a model is built.
"""

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.hookspecs import hookimpl
from musiclatent.registry import ArchitectureSpec

MODERN_RECIPE = {
    "loss": "l1+mrstft+mel",
    "lr": 0.002,
    "epochs": 30,
    "batch_size": 8,
    "eval_batch_size": 16,
    "optimizer": "adamw",
    "scheduler": {"name": "cosine"},
    "grad_clip": 1.0,
}
"""Training defaults of every modern model: L1 + multi-resolution STFT + multi-scale mel distance,
AdamW, cosine learning-rate decay over the epochs, gradients clipped to a global norm of 1 (without
it mel48 diverged on real music from its second epoch: train loss 2.7 -> 8.5 -> 19, validation
7.6 -> 37.7)."""

WAVE_CONFIGS = {
    # name: (strides -> hop, latent channels); encoding scale = hop / channels
    "wave12": {"strides": [6, 4, 2], "latent_channels": 4},  # hop 48, 4 channels
    "wave48": {"strides": [4, 4, 3, 4], "latent_channels": 4, "max_channels": 48},  # hop 192, 4 channels
    "wave192": {"strides": [4, 4, 4, 6], "latent_channels": 2, "max_channels": 48},  # hop 384, 2 channels
}

MEL_CONFIGS = {
    # STFT hop 192 (n_fft 768); extra frame downsampling `down`; scale = 192 * prod(down) / channels
    "mel12": {"down": [], "latent_channels": 16},  # hop 192, 16 channels
    "mel48": {"down": [2], "latent_channels": 8},  # hop 384, 8 channels
    "mel192": {"down": [2, 2], "latent_channels": 4},  # hop 768, 4 channels
}

WAVE_BASE = {"channels": 8, "max_channels": 64, "dilations": [1, 3, 9], "act": "snake", "weight_norm": True,
             "sample_rate": DEFAULT_SAMPLE_RATE}
MEL_BASE = {"n_fft": 768, "stft_hop": 192, "n_mels": 64, "channels": 64, "dilations": [1, 3, 9], "kernel_size": 3,
            "act": "snake", "weight_norm": True, "sample_rate": DEFAULT_SAMPLE_RATE, "phase": "advance"}
# phase "advance": the iSTFT head predicts a correction to the phase of bin-centred sinusoids, so frames
# overlap-add coherently from the first step (see musiclatent.nn.modern_layers.ISTFTHead).


HYBRID_RECIPE = {**MODERN_RECIPE, "loss": "mrstft+mel", "epochs": 8}
"""The hybrid's low band is exact by construction; only the band above the crossover is learnt, with
random phases, so a waveform L1 term would only pull its level towards silence. 8 epochs: the
cosine schedule ends inside a 15-minute training on 2 CPU cores (about 100 s an epoch on the
1158-segment development corpus), and the decoder starts from the band envelope, so it needs few."""

SPARSE_RECIPE = {**MODERN_RECIPE, "lr": 0.01, "epochs": 6}
"""The sparse model's learnt part is its per-band noise-fill gain (6 numbers): the modern loss, whose
waveform L1 term weighs the SI-SDR the noise costs against the spectral distances it buys, a larger
learning rate for so few parameters, and 6 epochs (the gains settle in the first)."""

SPARSE_CONFIGS = {
    # hop 384: 13 (bin, value) pairs + 6 residual band levels = 32 per 384 samples (chosen over 12 + 8
    # and 14 + 4 on the dev corpus's validation split: benchmarks/bench_sparse.py)
    "sparse12": {"hop": 384, "peaks": 13, "bands": 6},
}

HYBRID_CONFIGS = {
    # hop 384 (MDCT bins 28.7 Hz wide): 24 low bins (0-689 Hz) + 8 envelope channels = 32 per 384 samples
    "hybrid12": {"hop": 384, "low_bins": 24, "envelope_bands": 8},
}
HYBRID_BASE = {"n_fft": 768, "stft_hop": 192, "channels": 64, "dilations": [1, 3, 9], "kernel_size": 3,
               "act": "snake", "weight_norm": True, "sample_rate": DEFAULT_SAMPLE_RATE}


def _scale(name: str) -> str:
    return "".join(ch for ch in name if ch.isdigit())


SPARSE_BASE = {"fill_gain": 0.6, "sample_rate": DEFAULT_SAMPLE_RATE}

FAMILIES = (
    # (configs, shared defaults, factory, recipe, tag, description of one config)
    (WAVE_CONFIGS, WAVE_BASE, "musiclatent.architectures.modern:WaveAutoencoder", MODERN_RECIPE, "waveform",
     lambda name, cfg: f"waveform AE, 1/{_scale(name)}: strided convs + residual dilated units, Snake, weight norm"),
    (MEL_CONFIGS, MEL_BASE, "musiclatent.architectures.spectral:MelAutoencoder", MODERN_RECIPE, "spectrogram",
     lambda name, cfg: f"log-mel AE, 1/{_scale(name)}: conv over mel frames, learned iSTFT (magnitude+phase) decoder"),
    (HYBRID_CONFIGS, HYBRID_BASE, "musiclatent.architectures.hybrid:HybridAutoencoder", HYBRID_RECIPE, "hybrid",
     lambda name, cfg: (f"band-split AE, 1/{_scale(name)}: exact waveform below "
                        f"{cfg['low_bins'] * DEFAULT_SAMPLE_RATE // (2 * cfg['hop'])} Hz, "
                        "band-energy envelope above with a learnt noise-phase iSTFT decoder")),
    (SPARSE_CONFIGS, SPARSE_BASE, "musiclatent.architectures.sparse:SparseAutoencoder", SPARSE_RECIPE, "sparse",
     lambda name, cfg: (f"sparse local-cosine code, 1/{_scale(name)}: the {cfg['peaks']} strongest coefficients "
                        f"of each frame with their bins, the rest's energy in {cfg['bands']} bands, noise-filled")),
)
"""Each family of modern built-ins: every config becomes one registered architecture."""


@hookimpl
def register_architectures(register):
    """Modern waveform, spectrogram, band-split and sparse autoencoders at 1/12, 1/48 and 1/192."""
    for configs, base, factory, recipe, tag, describe in FAMILIES:
        for name, cfg in configs.items():
            register(ArchitectureSpec(name=name, description=describe(name, cfg), factory=factory,
                                      defaults={**base, **cfg}, recipe=dict(recipe), tags=("modern", tag)))
