"""The Python API mirrors the CLI: scan -> train -> encode -> open -> analyze -> decode."""

import json

import numpy as np
import pytest
import soundfile as sf

import musiclatent.api as ml
from musiclatent.workspace import WorkspaceError


def test_api_whole_chain(tiny_corpus, tmp_path):
    import torch

    torch.set_num_threads(1)
    ws = tmp_path / "ws"
    manifest = ml.scan(tiny_corpus, workspace=ws, progress=False)
    assert len(manifest.tracks) == 20
    assert json.loads((ws / "workspace.json").read_text())["corpus"]

    result = ml.train("alt5", workspace=ws, epochs=1, segment_seconds=1.0, max_train_segments=4,
                      progress=False, charts=False)
    assert result.best_checkpoint.exists()

    table = ml.encode("alt5", workspace=ws, segment_seconds=1.0, progress=False)
    assert str(table.path).endswith("latents/alt5.parquet")
    assert len(table.track_ids()) == 20
    X, tracks = ml.open_table(workspace=ws).track_matrix("meanstd")
    assert X.shape == (20, 2 * table.latent_shape[0])

    folder = ml.analyze("pca", workspace=ws)
    index = json.loads((folder / "index.json").read_text())
    assert index["pooling"] == "meanstd"

    track = tracks["track_id"].iloc[0]
    wave, sr = ml.decode(track, workspace=ws, out=tmp_path / "t.wav")
    assert sr == 22050 and np.isfinite(wave).all()
    assert sf.info(str(tmp_path / "t.wav")).frames == len(wave)


def test_api_errors_are_clear(tmp_path):
    with pytest.raises(WorkspaceError, match="musiclatent train --model alt5"):
        ml.encode("alt5", workspace=tmp_path / "empty")
    with pytest.raises(ValueError, match="exactly one"):
        ml.decode(workspace=tmp_path)
