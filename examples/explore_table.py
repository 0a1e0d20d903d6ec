# %% [markdown]
# # Exploring a latent table with the musiclatent API
#
# Percent-cell script: run it cell by cell in VS Code / Jupyter (jupytext), or as a whole with
# `python examples/explore_table.py [TABLE]`. It needs a latent table: run `musiclatent demo`
# first (or `musiclatent encode --model alt5`).

# %%
import sys

import numpy as np

import musiclatent.api as ml

table = ml.open_table(sys.argv[1] if len(sys.argv) > 1 else None)
meta = table.metadata
print(f"model {meta['model']}, latent {table.latent_shape}, {table.num_rows} segments, "
      f"{len(table.track_ids())} tracks, sample rate {meta['sample_rate']} Hz")

# %% [markdown]
# Track vectors. A waveform latent averaged over time is close to zero, so pool with care:
# `meanstddelta` (the default) keeps per-channel mean, standard deviation and the standard
# deviation of the frame-to-frame difference over time.

# %%
X, tracks = table.track_matrix("meanstddelta")
print(X.shape, tracks["label"].value_counts().to_dict())

# %% [markdown]
# Genre centroids and how far apart they are (cosine distance between standardised centroids).

# %%
Z = (X - X.mean(0)) / (X.std(0) + 1e-8)
labels = tracks["label"].fillna("unknown").to_numpy()
genres = sorted(set(labels))
centroids = np.stack([Z[labels == g].mean(0) for g in genres])
unit = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
distance = 1 - unit @ unit.T
for g, row in zip(genres, distance, strict=True):
    nearest = genres[int(np.argsort(row)[1])] if len(genres) > 1 else "-"
    print(f"{g:>10}: nearest genre {nearest}")

# %% [markdown]
# Nearest neighbours of one track, by hand, then with the `neighbors` analysis.

# %%
query = 0
d = np.linalg.norm(Z - Z[query], axis=1)
order = np.argsort(d)[1:6]
print("query", tracks["track_id"][query], "->", list(tracks["track_id"][order]))
folder = ml.analyze("neighbors", table=table.path, k=5)
print("neighbors analysis written to", folder)

# %% [markdown]
# Decode the mean latent of one genre's first segments back to audio ("the average jazz song").

# %%
genre = "jazz" if "jazz" in genres else genres[0]
ids = tracks["track_id"][labels == genre]
first_segments = np.stack([table.track_latents(t)[0] for t in ids])
wave, sr = ml.decode(latent=first_segments.mean(0), table=table, out=f"centroid-{genre}.wav")
print(f"centroid of {genre}: {len(wave) / sr:.1f} s written to centroid-{genre}.wav")
