"""Reproduce the seed report's whole experiment with musiclatent.

    python examples/reproduce_seed.py /data/gtzan            # a GTZAN folder (genres/<genre>/*.wav)
    python examples/reproduce_seed.py                        # the synthetic GTZAN-shaped corpus
    python examples/reproduce_seed.py --quick                # minutes instead of hours (tiny grid)

Steps, as in the report (../shared/seed/README.md): 5 s segments at 22050 Hz, 100/100/rest
splits, the grid search over lr x epochs for alt3, alt4 and alt5 (MSE, Adam, StepLR 4/0.5,
batch 10/20), the best configuration per model by the report's four criteria, then encode with
each winner and explore the latent space (PCA 2-D/3-D, k-means elbow, neighbours, the decoded
mean latent of every genre, a linear probe) and build the HTML report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import musiclatent.api as ml

SEED_LRS = [0.001, 0.005, 0.01, 0.05, 0.0001, 0.0005]
SEED_EPOCHS = [5, 10, 20, 30]
SEED_MODELS = ["alt3", "alt4", "alt5"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gtzan", nargs="?", help="GTZAN folder; default: synthesize one")
    parser.add_argument("--workspace", default="seed-work", help="workspace folder (default: seed-work)")
    parser.add_argument("--quick", action="store_true", help="tiny grid and corpus (a smoke run)")
    args = parser.parse_args()
    ws = Path(args.workspace)

    if args.gtzan:
        corpus = Path(args.gtzan)
    else:
        corpus = ws / "corpus"
        ml.synth(corpus, tracks_per_genre=3 if args.quick else 20, seconds=10.0 if args.quick else 30.0)
    manifest = ml.scan(corpus, workspace=ws)
    print(manifest.tracks.groupby("split").size().to_string())

    lrs, epochs = ([0.005, 0.01], [1, 2]) if args.quick else (SEED_LRS, SEED_EPOCHS)
    extra = {"max_train_segments": 20} if args.quick else {}
    grid = ml.gridsearch(SEED_MODELS, lrs, epochs, workspace=ws, **extra)
    best = grid.attrs["best"]
    print(best.to_string(index=False))

    for model in SEED_MODELS:
        row = best[(best["model"] == model) & (best["criterion"] == "best validation loss")].iloc[0]
        print(f"{model}: training the winner lr={row['lr']} epochs={int(row['epochs'])}")
        ml.train(model, workspace=ws, lr=float(row["lr"]), epochs=int(row["epochs"]), **extra)
        table = ml.encode(model, workspace=ws)
        print(f"{model}: {table.num_rows} segments, latent {table.latent_shape}")
        ml.evaluate(model, workspace=ws)

    table = ws / "latents" / "alt5.parquet"
    for name, options in [("pca", {}), ("umap", {}), ("cluster", {}), ("neighbors", {}),
                          ("interpolate", {"centroid": ("all",)}), ("probe", {})]:
        print("analysis", name, "->", ml.analyze(name, table=table, workspace=ws, **options))
    print("report:", ml.report(workspace=ws, table=table))


if __name__ == "__main__":
    main()
