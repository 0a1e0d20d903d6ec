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
    assert index["pooling"] == "meanstddelta"

    track = tracks["track_id"].iloc[0]
    wave, sr = ml.decode(track, workspace=ws, out=tmp_path / "t.wav")
    assert sr == 22050 and np.isfinite(wave).all()
    assert sf.info(str(tmp_path / "t.wav")).frames == len(wave)


def test_api_errors_are_clear(tmp_path):
    with pytest.raises(WorkspaceError, match="musiclatent train --model alt5"):
        ml.encode("alt5", workspace=tmp_path / "empty")
    with pytest.raises(ValueError, match="exactly one"):
        ml.decode(workspace=tmp_path)


@pytest.fixture
def fake_ws(tmp_path, fresh_plugins):
    """A workspace remembering a tiny 8 kHz corpus, and a fake checkpoint whose model name is not
    its architecture's."""
    import torch
    from latent_fakes import RATE, make_corpus, register_fake

    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.plugins import get_registry

    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    ws = tmp_path / "ws"
    manifest = ml.scan(make_corpus(tmp_path / "corpus"), sample_rate=RATE, workspace=ws, progress=False)
    torch.manual_seed(0)
    net = get_registry().architecture("fakeae").build()
    ckpt = save_checkpoint(tmp_path / "ck.safetensors", net, model_name="renamed", training={"segment_seconds": 1.0})
    return ws, manifest, ckpt


def test_api_encode_names_the_table_as_the_cli_does(fake_ws):
    from click.testing import CliRunner

    from musiclatent.cli import cli

    ws, _, ckpt = fake_ws
    table = ml.encode(checkpoint=ckpt, workspace=ws, progress=False, log=None)
    assert table.path == ws / "latents" / "renamed.parquet"  # the model name, not the architecture
    first = table.path.read_bytes()
    res = CliRunner().invoke(cli, ["--workspace", str(ws), "encode", "--checkpoint", str(ckpt), "--no-resume", "-q"])
    assert res.exit_code == 0, res.output
    assert f"wrote {table.path}:" in res.output and "using " in res.output
    assert table.path.read_bytes() != first  # written again (new created time), at the same place


def test_api_encode_reads_the_audio_cache_and_drives_either_engine(fake_ws, monkeypatch):
    from latent_fakes import RATE

    from musiclatent.corpus.cache import AudioCache
    from musiclatent.latents import encode as local
    from musiclatent.latents import ray_engine
    from musiclatent.workspace import Workspace

    ws, manifest, ckpt = fake_ws
    ids = list(zip(manifest.tracks["track_id"], manifest.tracks["path"], strict=True))
    AudioCache(Workspace.open(ws).cache_dir, manifest.root, RATE).ensure(ids, progress=False)
    calls: list[tuple[str, dict]] = []
    real = local.encode_corpus

    def fake_local(**kw):
        calls.append(("local", kw))
        return real(**kw)

    def fake_ray(**kw):
        calls.append(("ray", kw))
        return real(checkpoint=kw["checkpoint"], manifest=kw["manifest"], out=kw["out"], progress=False)

    monkeypatch.setattr(local, "encode_corpus", fake_local)
    monkeypatch.setattr(ray_engine, "encode_corpus_ray", fake_ray)
    lines: list[str] = []
    ml.encode(checkpoint=ckpt, workspace=ws, progress=False, batch_size=3, log=lines.append)
    ml.encode(checkpoint=ckpt, workspace=ws, progress=False, engine="ray", concurrency=3, address="auto",
              out=ws / "ray.parquet", log=None)
    (kind_a, a), (kind_b, b) = calls
    assert (kind_a, kind_b) == ("local", "ray")
    assert isinstance(a["cache"], AudioCache) and all(a["cache"].is_fresh(t, p) for t, p in ids)
    assert a["batch_size"] == 3 and a["out"] == ws / "latents" / "renamed.parquet"
    assert "cache" not in b and b["concurrency"] == 3 and b["address"] == "auto" and b["out"] == ws / "ray.parquet"
    assert lines and lines[0].startswith(f"using {ckpt}")
    with pytest.raises(ValueError, match="engine='spark'"):
        ml.encode(checkpoint=ckpt, workspace=ws, engine="spark", log=None)
    no_cache = ml.encode(checkpoint=ckpt, workspace=ws, progress=False, use_cache=False, log=None)
    assert calls[-1][1]["cache"] is None and no_cache.num_rows == 6


def test_describe_checkpoint_moved_to_the_api_and_the_old_name_warns(tmp_path):
    from musiclatent.cli import encode_cmd

    with pytest.warns(DeprecationWarning, match="musiclatent.api.describe_checkpoint"):
        old = encode_cmd.describe_checkpoint
    assert old is ml.describe_checkpoint
    with pytest.raises(AttributeError):
        encode_cmd.no_such_name  # noqa: B018
