"""Encoding a corpus into a latent table: rows, metadata, resume, bad files, workers."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from latent_fakes import FAKE, RATE, make_corpus, register_fake, save_fake_checkpoint, scan

from musiclatent.latents import encode as encode_mod
from musiclatent.latents.encode import encode_corpus
from musiclatent.latents.table import LatentTable, partial_path


@pytest.fixture
def setup(tmp_path, fresh_plugins):
    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    root = make_corpus(tmp_path / "corpus", genres=("blues", "jazz", "rock", "metal"))
    manifest = scan(root)
    ckpt = save_fake_checkpoint(tmp_path / "best.safetensors")
    return root, manifest, ckpt


def test_encode_writes_one_row_per_segment_with_metadata(setup, tmp_path):
    root, manifest, ckpt = setup
    out = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "t.parquet", batch_size=3,
                        device="cpu", progress=False)
    table = LatentTable.open(out).validate()
    meta = table.metadata
    assert meta["model"] == FAKE and meta["sample_rate"] == RATE
    assert meta["segment_samples"] == RATE and meta["latent_shape"] == [2, RATE // 8]
    assert meta["corpus_root"] == str(manifest.root) and meta["complete"] is True
    assert len(meta["checkpoint_sha256"]) == 64 and meta["encoding_scale"] == pytest.approx(4.0)
    tracks = table.tracks()
    assert sorted(tracks["track_id"]) == sorted(manifest.tracks["track_id"])
    # 2.5 s at 1 s segments: two full segments; the 0.5 s tail is under the 1 s minimum and dropped
    assert (tracks["n_segments"] == 2).all() and np.allclose(tracks["duration_s"], 2.0)
    by_id = manifest.tracks.set_index("track_id")
    for row in tracks.itertuples():
        assert row.split == by_id.loc[row.track_id, "split"] and row.label == by_id.loc[row.track_id, "label"]
    # latents equal the model's encoding of the audio
    from musiclatent.checkpoint import load_checkpoint
    from musiclatent.corpus.audio import read_audio

    model, _ = load_checkpoint(ckpt)
    tid = tracks["track_id"].iloc[0]
    wave = read_audio(root / tracks["path"].iloc[0], RATE)
    with torch.inference_mode():
        z = model.encode(torch.from_numpy(wave[:RATE].copy())[None, None]).numpy()[0]
    np.testing.assert_allclose(table.track_latents(tid)[0], z, rtol=1e-5, atol=1e-6)


def test_resume_equals_uninterrupted_row_for_row(setup, tmp_path, monkeypatch):
    _, manifest, ckpt = setup
    kw = dict(checkpoint=ckpt, manifest=manifest, batch_size=2, device="cpu", progress=False, row_group_rows=1)
    full = encode_corpus(out=tmp_path / "full.parquet", **kw)

    out = tmp_path / "resumed.parquet"
    seen: list[str] = []

    def killer(track_id):
        seen.append(track_id)
        if len(seen) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(encode_mod, "_track_written", killer)
    with pytest.raises(KeyboardInterrupt):
        encode_corpus(out=out, **kw)
    assert not out.exists() and partial_path(out).is_dir()
    monkeypatch.setattr(encode_mod, "_track_written", lambda tid: seen.append(tid))
    messages: list[str] = []
    encode_corpus(out=out, log=messages.append, **kw)
    assert any("resuming" in m for m in messages)
    assert len(seen) == 2 + 2 and len(set(seen)) == 4  # two before the kill, only the other two after it
    a, b = pq.read_table(full), pq.read_table(out)
    assert a.num_rows == b.num_rows
    assert a.drop_columns(["latent"]).equals(b.drop_columns(["latent"]))
    np.testing.assert_array_equal(LatentTable.open(full).segment_matrix()[0],
                                  LatentTable.open(out).segment_matrix()[0])
    assert not partial_path(out).exists()


def test_bad_files_are_skipped_and_listed(setup, tmp_path):
    root, manifest, ckpt = setup
    victim = manifest.tracks["path"].iloc[1]
    (root / victim).write_bytes(b"RIFF not really a wave file")
    messages: list[str] = []
    out = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "t.parquet", device="cpu",
                        progress=False, log=messages.append)
    table = LatentTable.open(out)
    assert len(table.track_ids()) == 3
    assert [p["path"] for p in table.problems] == [victim]
    assert any(victim in m for m in messages)


def test_workers_give_the_same_table(setup, tmp_path):
    _, manifest, ckpt = setup
    a = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "a.parquet", device="cpu", progress=False)
    b = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "b.parquet", device="cpu", progress=False,
                      workers=1, batch_size=5)
    ma, ra = LatentTable.open(a).segment_matrix()
    mb, rb = LatentTable.open(b).segment_matrix()
    assert ra.equals(rb)
    np.testing.assert_allclose(ma, mb, rtol=1e-5, atol=1e-6)


def test_resume_after_the_corpus_changed_starts_over(setup, tmp_path, monkeypatch):
    _, manifest, ckpt = setup
    kw = dict(checkpoint=ckpt, manifest=manifest, device="cpu", progress=False, row_group_rows=1)
    out = tmp_path / "t.parquet"

    def killer(track_id):
        raise KeyboardInterrupt

    monkeypatch.setattr(encode_mod, "_track_written", killer)
    with pytest.raises(KeyboardInterrupt):
        encode_corpus(out=out, **kw)
    monkeypatch.setattr(encode_mod, "_track_written", lambda tid: None)
    first = manifest.tracks["track_id"].iloc[0]
    manifest.tracks = manifest.tracks[manifest.tracks["track_id"] != first].reset_index(drop=True)
    messages: list[str] = []
    encode_corpus(out=out, log=messages.append, **kw)
    assert any("starting over" in m for m in messages)
    assert LatentTable.open(out).track_ids() == manifest.tracks["track_id"].tolist()


def _interrupt_after(monkeypatch, n: int) -> None:
    seen: list[str] = []

    def killer(track_id):
        seen.append(track_id)
        if len(seen) == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(encode_mod, "_track_written", killer)


def _encode_interrupted_after(setup, tmp_path, monkeypatch, n: int):
    """Encode ``t.parquet`` until ``n`` tracks are written, then as if Ctrl-C; returns ``(kw, out)``
    for the resumed call (which runs uninterrupted)."""
    _, manifest, ckpt = setup
    kw = dict(checkpoint=ckpt, manifest=manifest, batch_size=2, device="cpu", progress=False, row_group_rows=1)
    out = tmp_path / "t.parquet"
    _interrupt_after(monkeypatch, n)
    with pytest.raises(KeyboardInterrupt):
        encode_corpus(out=out, **kw)
    monkeypatch.setattr(encode_mod, "_track_written", lambda tid: None)
    return kw, out


def test_resume_re_encodes_a_file_changed_since_with_the_same_name_and_length(setup, tmp_path, monkeypatch):
    import soundfile as sf

    root, manifest, _ = setup
    kw, out = _encode_interrupted_after(setup, tmp_path, monkeypatch, 3)
    # the second track's file gets other audio: same name, same length, same size
    rel = manifest.tracks["path"].iloc[1]
    path = root / rel
    wave, rate = sf.read(path, dtype="float32")
    size = path.stat().st_size
    sf.write(path, np.ascontiguousarray(-wave[::-1]), rate, subtype=sf.info(path).subtype)
    assert path.stat().st_size == size
    messages: list[str] = []
    encode_corpus(out=out, log=messages.append, **kw)
    assert any("re-encoding 1 changed files" in m for m in messages), messages
    fresh = encode_corpus(out=tmp_path / "fresh.parquet", **kw)
    a, b = LatentTable.open(fresh), LatentTable.open(out)
    assert a.segments().equals(b.segments())
    np.testing.assert_array_equal(a.segment_matrix()[0], b.segment_matrix()[0])


def test_audio_and_elapsed_seconds_count_every_run_after_a_resume(setup, tmp_path, monkeypatch):
    kw, out = _encode_interrupted_after(setup, tmp_path, monkeypatch, 2)
    first = max(pq.read_schema(p).metadata and __import__("json").loads(pq.read_schema(p).metadata[b"musiclatent"])
                ["elapsed_s"] for p in partial_path(out).glob("part-*.parquet"))
    encode_corpus(out=out, **kw)
    table = LatentTable.open(out)
    total = float(table.segments()["duration_s"].sum())
    assert table.metadata["audio_s"] == pytest.approx(total, abs=1e-3)  # all 4 tracks, not the last 2
    assert table.metadata["elapsed_s"] >= first > 0
