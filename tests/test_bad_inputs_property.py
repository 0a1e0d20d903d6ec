"""Bad inputs, property-based where it fits: odd audio, damaged tables and checkpoints, labels CSVs.

Every case either works correctly or gives one clear line naming the file and what to do (a
skipped file is listed, never a crash). Fixed-case tests of the same layer: tests/test_corpus_badinput.py,
tests/test_corpus_manifest.py, tests/test_checkpoint.py, tests/test_latent_table.py.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from latent_fakes import FAKE, RATE, make_corpus, register_fake, save_fake_checkpoint, scan

from musiclatent.cli import cli

SEG_S = 0.25
SEG = int(SEG_S * RATE)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _one_line_error(res, *needles: str, codes=(1, 2)) -> str:
    assert res.exit_code in codes, res.output
    assert "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, res.output
    for needle in needles:
        assert needle in errors[0], res.output
    return errors[0]


# ------------------------------------------------------------------------------------ audio
SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


@st.composite
def audio_files(draw):
    rate = draw(st.sampled_from([8000, 11025, 16000, 22050, 44100]))
    seg_in = int(SEG_S * rate)
    length = draw(st.one_of(st.sampled_from([0, 1, 2, seg_in - 1, seg_in, seg_in + 1, 3 * seg_in + 7]),
                            st.integers(0, 6 * seg_in)))
    channels = draw(st.integers(1, 3))
    subtype = draw(st.sampled_from(SUBTYPES))
    kind = draw(st.sampled_from(["tone", "dc", "clipped", "silence", "nan", "inf", "loud"]))
    if kind in ("nan", "inf", "loud") and subtype not in ("FLOAT", "DOUBLE"):
        kind = "clipped"
    return rate, length, channels, subtype, kind


def _signal(rate, length, channels, kind, rng):
    t = np.arange(length) / rate
    x = 0.5 * np.sin(2 * np.pi * 440 * t)[:, None] * np.ones((1, channels))
    if kind == "dc":
        x = x * 0.3 + 0.6
    elif kind == "clipped":
        x = np.clip(4 * x, -1, 1)
    elif kind == "silence":
        x = np.zeros_like(x)
    elif kind == "loud":
        x = x * 1e6  # float files may hold values far beyond full scale
    elif kind in ("nan", "inf") and length:
        x[rng.integers(0, length), rng.integers(0, channels)] = np.nan if kind == "nan" else np.inf
    return x


@SETTINGS
@given(spec=audio_files(), seed=st.integers(0, 2**16))
def test_odd_audio_is_read_and_segmented_or_reported(spec, seed):
    from musiclatent.corpus.audio import resampled_length
    from musiclatent.corpus.segments import plan_segments
    from musiclatent.latents.encode import TrackDataset

    rate, length, channels, subtype, kind = spec
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = _signal(rate, length, channels, kind, np.random.default_rng(seed))
        sf.write(root / "x.wav", data, rate, subtype=subtype)
        item = TrackDataset([{"track_id": "x", "path": "x.wav", "label": None, "split": "train"}],
                            root, RATE, SEG_S)[0]
    if length == 0 or kind in ("nan", "inf"):
        assert item.error and "\n" not in item.error and item.segments is None
        assert ("NaN" in item.error) if kind in ("nan", "inf") and length else True
        return
    assert item.error is None, item.error
    n = resampled_length(length, rate, RATE)
    plan = plan_segments(n, SEG, sample_rate=RATE)
    assert item.segments.dtype == np.float32 and item.segments.shape == (len(plan), SEG)
    assert np.isfinite(item.segments).all()
    assert [r["segment"] for r in item.rows] == list(range(len(plan)))
    if kind == "dc" and n >= 64:  # nothing silently "repaired": the offset is kept
        assert item.segments[0, : min(n, SEG) // 2].mean() == pytest.approx(0.6, abs=0.1)


@pytest.fixture
def fake(tmp_path, fresh_plugins):
    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    return fresh_plugins


def test_too_loud_and_odd_files_are_skipped_and_listed_by_encode(tmp_path, fake, monkeypatch):
    """Encode over odd files: every file is either rows in the table or a listed problem; a model
    that overflows on a file far beyond full scale gives a listed problem, never inf latents."""
    from latent_fakes import FakeAE

    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.table import LatentTable

    plain = FakeAE.encode
    monkeypatch.setattr(FakeAE, "encode", lambda self, wave: plain(self, wave) * 1e10)  # a high-gain model

    root = make_corpus(tmp_path / "corpus", genres=("blues", "jazz"))
    odd = root / "genres" / "blues"
    t = np.arange(RATE) / RATE
    sf.write(odd / "huge.wav", (3e38 * np.sign(np.sin(2 * np.pi * 100 * t))).astype(np.float64), RATE, subtype="DOUBLE")
    sf.write(odd / "one.wav", np.array([0.5]), RATE)
    sf.write(odd / "stereo48k.wav", 0.1 * np.ones((4800, 2)), 48000, subtype="PCM_24")
    (odd / "empty.wav").write_bytes(b"")
    ckpt = save_fake_checkpoint(tmp_path / "ck.safetensors")
    lines: list[str] = []
    out = encode_corpus(checkpoint=ckpt, manifest=scan(root), out=tmp_path / "t.parquet", device="cpu",
                        progress=False, log=lines.append)
    table = LatentTable.open(out).validate(deep=True)
    encoded = set(table.tracks()["path"])
    problems = {p["path"]: p["reason"] for p in table.problems}
    all_files = {str(p.relative_to(root)) for p in root.rglob("*.wav")}
    assert encoded | set(problems) == all_files and not encoded & set(problems)
    assert {"genres/blues/one.wav", "genres/blues/stereo48k.wav"} <= encoded
    assert "empty" in problems["genres/blues/empty.wav"]
    assert "NaN" in problems["genres/blues/huge.wav"] or "infinite" in problems["genres/blues/huge.wav"]
    assert np.isfinite(table.segment_matrix()[0]).all()


# ---------------------------------------------------------------------------------- tables
@pytest.fixture
def encoded(tmp_path, fake):
    root = make_corpus(tmp_path / "corpus", genres=("blues", "jazz", "rock"))
    ckpt = save_fake_checkpoint(tmp_path / "ck.safetensors")
    from musiclatent.latents.encode import encode_corpus

    out = encode_corpus(checkpoint=ckpt, manifest=scan(root), out=tmp_path / "t.parquet", device="cpu",
                        progress=False)
    return out, ckpt


@SETTINGS
@given(data=st.data())
def test_damaged_table_is_refused_or_reads_identically(encoded, data):
    from musiclatent.latents.table import LatentTable

    out, _ = encoded
    good = out.read_bytes()
    original = LatentTable.open(out)
    ref_lat, ref_rows = original.segment_matrix()
    ref_meta = original.metadata
    how = data.draw(st.sampled_from(["truncate", "flip"]))
    if how == "truncate":
        damaged = good[: data.draw(st.integers(0, len(good) - 1))]
    else:
        pos = data.draw(st.integers(0, len(good) - 1))
        bit = data.draw(st.integers(0, 7))
        damaged = good[:pos] + bytes([good[pos] ^ (1 << bit)]) + good[pos + 1:]
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "shared.parquet"
        bad.write_bytes(damaged)
        res = CliRunner().invoke(cli, ["latents", "validate", str(bad)])
        if res.exit_code == 0:  # accepted: then everything reads back exactly as written
            table = LatentTable.open(bad)
            lat, rows = table.segment_matrix()
            assert table.metadata == ref_meta
            np.testing.assert_array_equal(lat, ref_lat)
            assert rows.equals(ref_rows)
        else:
            _one_line_error(res, "shared.parquet")


def _rewrite_metadata(src: Path, dst: Path, **changes) -> None:
    from musiclatent.latents.table import table_schema

    table = pq.read_table(src)
    meta = {**json.loads(table.schema.metadata[b"musiclatent"]), **changes}
    dim = table.schema.field("latent").type.list_size
    pq.write_table(table.replace_schema_metadata(table_schema(dim, meta).metadata), dst)


@pytest.mark.parametrize("changes, needle", [
    ({"format_version": 99}, "newer than this musiclatent"),
    ({"format_version": 0}, "re-encode"),
    ({"format": "someone-elses-table"}, "not a musiclatent latent table"),
    ({"complete": False}, "incomplete table"),
    ({"latent_shape": [3, 5]}, "encode the corpus again"),
])
def test_tables_of_another_version_or_shape_are_one_line_errors(encoded, tmp_path, changes, needle):
    out, _ = encoded
    other = tmp_path / "other.parquet"
    _rewrite_metadata(out, other, **changes)
    for argv in (["latents", "info", str(other)], ["analyze", "pca", "--table", str(other)],
                 ["decode", str(other), "--track", "genres/jazz/jazz.00000"]):
        _one_line_error(CliRunner().invoke(cli, argv), "other.parquet", needle)


def test_table_of_another_model_or_changed_checkpoint_is_refused(encoded, tmp_path):
    out, ckpt = encoded
    other = save_fake_checkpoint(tmp_path / "other.safetensors", seed=1)
    res = CliRunner().invoke(cli, ["decode", str(out), "--track", "genres/jazz/jazz.00000",
                                   "--checkpoint", str(other), "--out-dir", str(tmp_path / "d")])
    _one_line_error(res, "other.safetensors", "sha256")
    data = bytearray(ckpt.read_bytes())
    data[-3] ^= 0xFF  # tamper with a weight
    ckpt.write_bytes(bytes(data))
    res = CliRunner().invoke(cli, ["decode", str(out), "--track", "genres/jazz/jazz.00000",
                                   "--out-dir", str(tmp_path / "d")])
    _one_line_error(res, "ck.safetensors", "sha256")
    assert not (tmp_path / "d").exists()


# ----------------------------------------------------------------------------- checkpoints
@SETTINGS
@given(cut=st.floats(0.0, 0.999))
def test_truncated_checkpoint_is_one_line_from_encode(tmp_path, fake, cut):
    root = tmp_path / "corpus"
    if not root.exists():
        make_corpus(root, genres=("blues",))
    good = save_fake_checkpoint(tmp_path / "good.safetensors").read_bytes()
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(good[: int(len(good) * cut)])
    res = CliRunner().invoke(cli, ["encode", "--checkpoint", str(bad), "--data", str(root), "--device", "cpu",
                                   "-q", "--out", str(tmp_path / "t.parquet")])
    _one_line_error(res, "cut.safetensors")
    assert not (tmp_path / "t.parquet").exists()


def test_alt5_weights_labelled_alt4_is_a_clear_error(tmp_path):
    """A checkpoint of another architecture than it says: refused, naming the file and the arch."""
    import struct

    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.plugins import get_registry

    torch.set_num_threads(1)
    path = save_checkpoint(tmp_path / "alt5.safetensors", get_registry().architecture("alt5").build())
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["musiclatent"])
    meta["arch"], meta["config"] = "alt4", {}
    header["__metadata__"]["musiclatent"] = json.dumps(meta)
    body = json.dumps(header).encode()
    body += b" " * (-len(body) % 8)
    liar = tmp_path / "liar.safetensors"
    liar.write_bytes(struct.pack("<Q", len(body)) + body + raw[8 + n:])
    make_corpus(tmp_path / "corpus", genres=("blues",))
    res = CliRunner().invoke(cli, ["encode", "--checkpoint", str(liar), "--data", str(tmp_path / "corpus"),
                                   "--device", "cpu", "-q", "--out", str(tmp_path / "t.parquet")])
    _one_line_error(res, "liar.safetensors", "'alt4'")


# ------------------------------------------------------------------------------ labels CSV
@SETTINGS
@given(rows=st.lists(st.tuples(st.sampled_from(["blues/a", "blues/b", "jazz/c", "jazz/d", "rock/nope",
                                                 "other/e.wav"]),
                               st.sampled_from(["x", "y", "<b>z</b>", ""])), max_size=8))
def test_labels_csv_with_missing_extra_duplicate_rows(tmp_path, rows):
    music = tmp_path / "music"
    if not music.exists():
        for rel in ("blues/a", "blues/b", "jazz/c", "jazz/d"):
            (music / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(music / f"{rel}.wav", 0.1 * np.ones(800), RATE)
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text("path,label\n" + "".join(f"{p},{lab}\n" for p, lab in rows))
    res = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), "corpus", "scan", str(music),
                                   "--labels", str(csv_path), "--sample-rate", str(RATE), "--json"])
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    doc = json.loads(res.output[res.output.index("{"):])
    assert doc["tracks"] == 4  # every audio file is kept, labelled or not
    listed = {p for p, _ in rows}
    if listed & {"rock/nope", "other/e.wav"}:
        assert "no such audio file" in res.output


@pytest.mark.parametrize("content", ["", "file,genre\na,b\n", "path\nblues/a\n", "\x00\x01binary"])
def test_unusable_labels_csv_is_one_line(tmp_path, content):
    music = tmp_path / "music"
    (music / "blues").mkdir(parents=True)
    sf.write(music / "blues" / "a.wav", 0.1 * np.ones(800), RATE)
    csv_path = tmp_path / "labels.csv"
    csv_path.write_text(content)
    res = CliRunner().invoke(cli, ["--workspace", str(tmp_path / "ws"), "corpus", "scan", str(music),
                                   "--labels", str(csv_path)])
    _one_line_error(res, "labels.csv")


def test_fake_name_is_registered(fake):
    from musiclatent.plugins import get_registry

    assert FAKE in get_registry().architectures
