"""musiclatent-vq: an example third-party plugin.

Registers one architecture (``vq12``: a vector-quantised waveform autoencoder) and one analysis
(``tsne``: a 2-D t-SNE map of the track vectors). Nothing heavy is imported here: the specs name
their code by import string, so ``musiclatent plugins`` stays fast.
"""

from musiclatent.plugin_api import AnalysisSpec, ArchitectureSpec, Option, ReportSection, hookimpl


@hookimpl
def register_architectures(register):
    register(
        ArchitectureSpec(
            name="vq12",
            description="Vector-quantised conv autoencoder: 4 x T/48 latent (1/12) snapped to a 512-entry codebook",
            factory="musiclatent_vq.model:VQAutoencoder",
            defaults={"channels": 32, "latent_channels": 4, "strides": [4, 4, 3], "codebook_size": 512,
                      "commitment": 0.25, "decay": 0.99},
            recipe={"loss": "l1+mrstft", "lr": 0.002, "epochs": 20, "batch_size": 10,
                    "eval_batch_size": 20, "optimizer": "adam",
                    "scheduler": {"name": "step", "step_size": 8, "gamma": 0.5}},
        )
    )


@hookimpl
def register_analyses(register):
    register(
        AnalysisSpec(
            name="tsne",
            description="2-D t-SNE map of the track vectors, coloured by label, with trustworthiness",
            run="musiclatent_vq.tsne:run",
            options=(
                Option(name="perplexity", type="float", default=30.0,
                       help="t-SNE perplexity (clipped below the number of tracks)."),
                Option(name="metric", type="choice", default="euclidean", choices=("euclidean", "cosine"),
                       help="Distance between track vectors."),
            ),
            # in `musiclatent report`, right after the UMAP map: the map, then its coordinates
            report=ReportSection(title="t-SNE map: click a point to hear the track", order=15,
                                 charts=("tsne_map",), tables=("tsne",)),
        )
    )
