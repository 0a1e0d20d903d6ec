"""The built-in analyses: conformance over every registered analysis, and the scores they compute."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch  # a hard dependency: a broken torch must fail, not skip

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_table(tmp_path_factory):
    """40 tracks x 2 segments of tone WAVs, encoded by the tiny codec into latents [4, 8]."""
    from musiclatent import plugins
    from musiclatent.testing import register_tiny_codec, tiny_model_table

    plugins.reset()
    register_tiny_codec()
    table = tiny_model_table(tmp_path_factory.mktemp("tiny"), n_tracks=40, n_labels=4)
    yield table
    plugins.reset()


@pytest.fixture
def codec(model_table):
    from musiclatent.testing import register_tiny_codec

    register_tiny_codec()  # after a test reset the plugins
    return model_table


def _registered():
    from musiclatent.plugins import collect, get_plugin_manager, reset

    reset()
    names = sorted(collect(get_plugin_manager(entry_points=False)).analyses)
    reset()
    return names


BUILTIN = ("pca", "umap", "cluster", "neighbors", "interpolate", "probe", "views")


def test_every_builtin_is_registered():
    assert set(BUILTIN) <= set(_registered())


@pytest.mark.parametrize("name", _registered())
def test_conformance(name, codec, tmp_path):
    """Every registered analysis runs on the tiny table and writes what it declares."""
    from musiclatent.testing import check_analysis

    index = check_analysis(name, table=codec, out_dir=tmp_path / name)
    assert index["analysis"] == name
    assert index["pooling"] == "meanstddelta"  # the default pooling
    assert index["outputs"]
    assert index["table"]["checkpoint_sha256"]


def test_cluster_scores_meaningful_on_clustered_table(codec, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    out = run_analysis("cluster", table=codec, out_dir=tmp_path / "c", formats=("html",), k_max=6)
    summary = json.loads((out / "index.json").read_text())["summary"]
    assert summary["k_at_labels"] == 4
    assert summary["kmeans_nmi"] > 0.6
    assert summary["kmeans_purity"] > 0.6


def test_neighbors_query_twin_first(codec, tmp_path):
    """A query file identical to a corpus track finds that track first, at distance ~0."""
    import pandas as pd

    from musiclatent.analyses.runner import run_analysis

    src = codec.parent / "corpus" / "genre2" / "genre2.00006.wav"
    query = tmp_path / "outside.wav"
    query.write_bytes(src.read_bytes())
    out = run_analysis("neighbors", table=codec, out_dir=tmp_path / "n", formats=("html",),
                       query=(str(query),), k=3)
    q = pd.read_csv(out / "query_neighbors.csv")
    assert q.iloc[0]["neighbor_id"] == "genre2/genre2.00006"
    assert q.iloc[0]["distance"] < 1e-4
    assert list(q["rank"]) == [1, 2, 3]


def test_centroids_are_taken_by_the_models_mean_latent(codec, tmp_path, monkeypatch):
    import pandas as pd

    from musiclatent.analyses import interpolate
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.architectures.base import AudioAutoencoder

    seen = []

    def first_only(self, latents):
        seen.append(tuple(latents.shape))
        return latents[0]

    monkeypatch.setattr(AudioAutoencoder, "mean_latent", first_only)
    out = run_analysis("interpolate", table=codec, out_dir=tmp_path / "c", formats=("html",), centroid=("genre1",))
    row = pd.read_csv(out / "centroids.csv").set_index("genre").loc["genre1"]
    assert len(seen) == 1 and seen[0][0] == row["tracks"] == row["averaged"] >= 3

    monkeypatch.setattr(interpolate, "CENTROID_TRACKS", 2)  # a huge genre: a bounded, seeded sample
    out = run_analysis("interpolate", table=codec, out_dir=tmp_path / "s", formats=("html",), centroid=("genre1",))
    row = pd.read_csv(out / "centroids.csv").set_index("genre").loc["genre1"]
    notes = json.loads((out / "index.json").read_text())["notes"]
    assert seen[1][0] == row["averaged"] == 2 < row["tracks"]
    assert any(f"2 of its {int(row['tracks'])} tracks averaged" in n for n in notes), notes


def test_interpolation_ends_decode_the_tracks(codec, tmp_path):
    import soundfile as sf

    from musiclatent.analyses.runner import run_analysis

    out = run_analysis("interpolate", table=codec, out_dir=tmp_path / "i", formats=("html",), steps=3,
                       mode="slerp", centroid=("genre1",), **{"from": "genre0/genre0.00000", "to": "genre3/genre3.00003"})
    index = json.loads((out / "index.json").read_text())
    wavs = sorted(p.name for p in out.glob("*.wav"))
    assert wavs == ["centroid_genre1.wav", "step_00.wav", "step_01.wav", "step_02.wav"]
    assert index["summary"]["from_track"] == "genre0/genre0.00000"
    wave, rate = sf.read(out / "step_00.wav")
    assert rate == 8000 and len(wave) == 256


def test_unknown_track_is_a_clear_error(codec, tmp_path):
    from musiclatent.analyses import AnalysisError
    from musiclatent.analyses.runner import run_analysis

    with pytest.raises(AnalysisError, match="not in the latent table"):
        run_analysis("views", table=codec, out_dir=tmp_path / "v", formats=("html",), track=("nope",))
    assert not (tmp_path / "v").exists()


def test_probe_separable_vs_shuffled():
    from musiclatent.analyses.probe import cross_validate, scores
    from musiclatent.latents.pooling import pool_track
    from musiclatent.testing import synthetic_latents

    lat, labels = synthetic_latents(n_tracks=60, n_labels=3, seed=1)
    X = np.stack([pool_track(t, "meanstd") for t in lat])
    y = np.asarray(labels, dtype=str)
    pred, k = cross_validate(X, y, folds=5, seed=0)
    assert k == 5
    assert scores(y, pred)["accuracy"] > 0.95
    shuffled = np.random.default_rng(0).permutation(y)
    noise = np.random.default_rng(1).normal(size=X.shape)
    pred, _ = cross_validate(noise, shuffled, folds=5, seed=0)
    assert scores(shuffled, pred)["accuracy"] < 0.6  # chance is 1/3


def test_probe_folds_clipped_to_smallest_class():
    from musiclatent.analyses.probe import cross_validate

    X = np.random.default_rng(0).normal(size=(13, 4))
    y = np.array(["a"] * 10 + ["b"] * 3)
    _, k = cross_validate(X, y, folds=5)
    assert k == 3


def test_probe_grouped_folds_remove_the_same_track_leak():
    from musiclatent.analyses.probe import cross_validate_folds, scores

    rng = np.random.default_rng(0)
    n_tracks, per_track = 40, 4
    track_vec = rng.normal(size=(n_tracks, 64))          # excerpts of a track look alike ...
    track_label = rng.permutation(np.repeat(["a", "b"], n_tracks // 2))  # ... labels carry no signal
    X = np.repeat(track_vec, per_track, axis=0) + 0.05 * rng.normal(size=(n_tracks * per_track, 64))
    y = np.repeat(track_label, per_track)
    groups = np.repeat([f"t{i}" for i in range(n_tracks)], per_track)
    leaky, _, _ = cross_validate_folds(X, y, folds=5, seed=0)
    pred, k, fold_acc = cross_validate_folds(X, y, folds=5, seed=0, groups=groups)
    assert scores(y, leaky)["accuracy"] > 0.9          # ungrouped: memorises the track
    assert scores(y, pred)["accuracy"] < 0.7 and k == 5 and len(fold_acc) == 5


def test_grouped_folds_keep_groups_apart_and_labels_in_proportion():
    from musiclatent.analyses.probe import fold_splits

    # 3 labels of 10 groups each, groups of 1-6 excerpts: every test fold holds each label near its
    # overall third, no group is ever on both sides, and every row is tested exactly once.
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 7, size=30)
    groups = np.repeat([f"g{i}" for i in range(30)], sizes)
    y = np.repeat(np.tile(["a", "b", "c"], 10), sizes)
    k, splits = fold_splits(y, folds=5, seed=0, groups=groups)
    assert k == 5 and len(splits) == 5
    assert sorted(np.concatenate([test for _, test in splits])) == list(range(len(y)))
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        for label in "abc":
            assert 0.15 < np.mean(y[test] == label) < 0.55
    other = fold_splits(y, folds=5, seed=1, groups=groups)[1]
    assert any(set(a[1]) != set(b[1]) for a, b in zip(splits, other, strict=True))  # the seed reshuffles


def test_repeated_cv_averages_reshuffled_folds():
    from musiclatent.analyses import AnalysisError
    from musiclatent.analyses.probe import cross_validate_folds, repeated_cv, scores

    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 30)
    X = rng.normal(size=(60, 3)) + (y == "a")[:, None] * 0.3  # a weak signal: the split matters
    cv = repeated_cv(X, y, folds=5, seed=4, repeats=3)
    single = [scores(y, cross_validate_folds(X, y, 5, seed)[0])["accuracy"] for seed in (4, 5, 6)]
    assert cv["repeats"] == 3 and cv["folds"] == 5 and len(cv["predictions"]) == 3
    assert cv["accuracy"] == pytest.approx(np.mean(single)) and cv["repeat_std"] == pytest.approx(np.std(single))
    assert len(set(single)) > 1  # the seeds do reshuffle the folds
    assert 0.0 <= cv["fold_std"] <= 0.5
    with pytest.raises(AnalysisError, match="repeats"):
        repeated_cv(X, y, repeats=0)


def test_probe_group_by_option_reaches_the_folds(codec, tmp_path):
    from musiclatent.analyses.runner import run_analysis

    out = run_analysis("probe", table=codec, out_dir=tmp_path / "p", formats=("html",), baseline=False,
                       group_by="track_id", folds=3)
    summary = json.loads((out / "index.json").read_text())["summary"]
    assert summary["grouped_by"] == "track_id" and summary["groups"] == summary["n_tracks"] and summary["folds"] == 3
    assert 0.0 <= summary["latent_fold_std"] <= 0.5 and 0.0 <= summary["latent_fold_mean"] <= 1.0


def test_probe_groups_from_the_labels_csv(tmp_path):
    import pandas as pd

    from musiclatent.analyses import AnalysisContext, AnalysisError
    from musiclatent.analyses.probe import track_groups

    csv = tmp_path / "labels.csv"
    csv.write_text("path,label,source_track\na/x__00.wav,a,a/x\na/x__01.wav,a,a/x\nb/y__00.wav,b,\n")

    class WS:
        def settings(self):
            return {"labels_csv": str(csv)}

    tracks = pd.DataFrame({"track_id": ["a/x__00", "a/x__01", "b/y__00", "c/z"],
                           "path": ["a/x__00.wav", "a/x__01.wav", "b/y__00.wav", "c/z.wav"],
                           "label": ["a", "a", "b", "c"], "split": ["train"] * 4})
    ctx = AnalysisContext(table=None, workspace=WS())
    assert list(track_groups(ctx, "source_track", tracks)) == ["a/x", "a/x", "b/y__00", "c/z"]
    assert list(track_groups(ctx, "label", tracks)) == ["a", "a", "b", "c"]
    with pytest.raises(Exception, match="no column 'nope'"):
        track_groups(ctx, "nope", tracks)
    with pytest.raises(AnalysisError, match="remembers no labels CSV"):
        track_groups(AnalysisContext(table=None), "source_track", tracks)


def test_precision_at_k_hand_made():
    from musiclatent.metrics.retrieval import chance_precision, precision_at_k, precision_by_label

    labels = ["a", "a", "b", "b"]
    idx = np.array([[1, 2], [2, 0], [3, 0], [0, 1]])
    np.testing.assert_allclose(precision_at_k(labels, idx), [0.5, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(precision_at_k(labels, idx, k=1), [1.0, 0.0, 1.0, 0.0])
    by = precision_by_label(labels, idx)
    assert by == {"a": 0.5, "b": 0.25, "overall": 0.375}
    assert chance_precision(labels) == pytest.approx(1 / 3)


def test_purity_and_scores_hand_made():
    from musiclatent.metrics.retrieval import cluster_scores, contingency, purity

    labels = ["a", "a", "a", "b", "b", "c"]
    clusters = [0, 0, 1, 1, 1, 1]
    assert purity(labels, clusters) == pytest.approx((2 + 2) / 6)
    assert contingency(labels, clusters).tolist() == [[2, 0, 0], [1, 2, 1]]
    perfect = cluster_scores(labels, ["x", "x", "x", "y", "y", "z"])
    assert perfect == {"ari": 1.0, "nmi": pytest.approx(1.0), "purity": 1.0}


def test_nearest_matches_sklearn():
    from sklearn.neighbors import NearestNeighbors

    from musiclatent.analyses.neighbors import nearest

    X = np.random.default_rng(3).normal(size=(50, 6)).astype(np.float32)
    for metric in ("cosine", "euclidean"):
        d, i = nearest(X, X, 4, metric, exclude_self=True)
        nn = NearestNeighbors(n_neighbors=5, metric=metric, algorithm="brute").fit(X)
        dd, ii = nn.kneighbors(X)
        np.testing.assert_array_equal(i, ii[:, 1:])
        np.testing.assert_allclose(d, dd[:, 1:], atol=1e-4)


def test_slerp_ends_and_norm():
    from musiclatent.analyses.interpolate import slerp

    a = np.array([[1.0, 0.0]], dtype=np.float32)
    b = np.array([[0.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(slerp(a, b, 1.0), b, atol=1e-6)
    assert np.linalg.norm(slerp(a, b, 0.5)) == pytest.approx(1.0)


def test_changed_checkpoint_is_refused(codec, tmp_path):
    from musiclatent.analyses.runner import run_analysis
    from musiclatent.checkpoint import CheckpointError
    from musiclatent.testing import tiny_model_table

    table = tiny_model_table(tmp_path / "t", n_tracks=8, n_labels=2)
    ckpt = tmp_path / "t" / "tiny.safetensors"
    ckpt.write_bytes(ckpt.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(CheckpointError, match="sha256"):
        run_analysis("interpolate", table=table, out_dir=tmp_path / "o", formats=("html",))


def test_benchmark_mfcc_baseline_is_the_probe_analysis_one():
    import torch

    from musiclatent.analyses.features import mfcc_vector
    from musiclatent.quality.benchmark import SegmentStack, mfcc_vectors

    sr, seg = 8000, 4000
    rng = np.random.default_rng(0)
    waves = {t: (0.2 * rng.normal(size=n) + np.sin(np.arange(n) * f)).astype(np.float32)
             for t, n, f in (("a", 10_000, 0.05), ("b", 8_000, 0.2))}
    waves["b"][-1000:] = 0.0  # a track that ends in real silence keeps it
    segments, tracks, lengths = [], [], []
    for t, w in waves.items():  # cut as the benchmark cuts: fixed segments, the last one zero-padded
        padded = np.concatenate([w, np.zeros(-len(w) % seg, np.float32)])
        segments += [padded[i:i + seg] for i in range(0, len(padded), seg)]
        tracks += [t] * (len(padded) // seg)
        lengths += [min(seg, len(w) - i) for i in range(0, len(padded), seg)]
    stack = SegmentStack(torch.from_numpy(np.stack(segments))[:, None], ["x"] * len(tracks), tracks, lengths)
    got = mfcc_vectors(stack, sr, delta=True)
    want = np.stack([mfcc_vector(w, sr, delta=True) for w in waves.values()])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
