"""The encode engines write the same table, byte for byte, as before any refactor.

A fixed tiny corpus (integer PCM samples) is encoded with a fixed tiny checkpoint whose weights
are small dyadic fractions, so every latent is computed exactly in float32 whatever the order of
the sums: the table is the same on every machine. ``fingerprint`` is a sha256 over a canonical
serialisation of the table: the schema (with field metadata), the row-group layout, every
column's values (latents as their float32 bytes) and every metadata key except the creation time
and the wall-clock ``elapsed_s`` (temporary paths, the version and the checkpoint's sha256, which
holds the save time, are replaced by placeholders after they are checked). ``PINNED`` was computed by the
encode code before issue 15 moved it into one encoding core; a change to the table's bytes fails
here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch
from latent_fakes import FAKE, RATE, register_fake

import musiclatent
from musiclatent.latents.table import LatentTable

PINNED = "153175a0183b7aa3dc4a5a2e279fb4b8bf70c3b6063a4732a4b309d1633d649f"
VOLATILE = ("created", "elapsed_s")  # the only metadata that may differ between two runs


def make_exact_corpus(root: Path) -> Path:
    """Two tracks in each of three genres, integer 16-bit samples, plus one file with no samples."""
    lengths = {"blues": (2.5, 1.25), "jazz": (3.0, 0.5), "rock": (1.0, 2.2)}
    for k, (genre, secs) in enumerate(lengths.items()):
        folder = root / "genres" / genre
        folder.mkdir(parents=True)
        for i, s in enumerate(secs):
            rng = np.random.default_rng(10 * k + i)
            samples = rng.integers(-12000, 12000, size=int(s * RATE), dtype=np.int16)
            sf.write(folder / f"{genre}.{i:05d}.wav", samples, RATE, subtype="PCM_16")
    sf.write(root / "genres" / "rock" / "rock.00009.wav", np.zeros(0, np.int16), RATE, subtype="PCM_16")
    return root


def save_exact_checkpoint(path: Path) -> Path:
    """The fake autoencoder with weights and biases in eighths: exact float32 latents."""
    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.plugins import get_registry

    model = get_registry().architecture(FAKE).build()
    rng = np.random.default_rng(1234)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.integers(-4, 5, size=tuple(p.shape)).astype(np.float32) / 8))
    return save_checkpoint(path, model, model_name=FAKE, training={"segment_seconds": 1.0})


def canonical(path: Path, tmp: Path, *, layout: bool = True, ignore: tuple[str, ...] = ()) -> dict:
    """The table at ``path`` as plain data: what ``fingerprint`` hashes. ``layout=False`` leaves
    out the files' row groups; ``ignore`` names more metadata keys to leave out."""
    from musiclatent.fileio import sha256_file

    table = LatentTable.open(path)
    meta = {k: v for k, v in table.metadata.items() if k not in (*VOLATILE, *ignore)}
    assert meta["checkpoint_sha256"] == sha256_file(meta["checkpoint"])
    assert meta["musiclatent_version"] == musiclatent.__version__
    meta["checkpoint_sha256"], meta["musiclatent_version"] = "<sha256>", "<version>"
    text = json.dumps(meta, sort_keys=False, default=str).replace(str(tmp), "<tmp>")
    data = table.segments().drop(columns=["latent"], errors="ignore")
    matrix, rows = table.segment_matrix()
    assert rows["track_id"].tolist() == data["track_id"].tolist()
    out = {"metadata": json.loads(text),
           "schema": [(f.name, str(f.type), f.nullable, {k.decode(): v.decode() for k, v in (f.metadata or {}).items()})
                      for f in table.schema],
           "columns": {c: data[c].astype(object).where(data[c].notna(), None).tolist() for c in data.columns},
           "latents": hashlib.sha256(np.ascontiguousarray(matrix, dtype="<f4").tobytes()).hexdigest()}
    if layout:
        files = [pq.ParquetFile(f).metadata for f in table.files]
        out["row_groups"] = [[m.row_group(i).num_rows for i in range(m.num_row_groups)] for m in files]
    return out


def fingerprint(path: Path, tmp: Path, **kw) -> str:
    doc = json.dumps(canonical(path, tmp, **kw), sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()


@pytest.fixture
def exact(tmp_path, fresh_plugins):
    from musiclatent.corpus.manifest import scan_corpus

    torch.set_num_threads(1)
    register_fake(fresh_plugins)
    root = make_exact_corpus(tmp_path / "corpus")
    manifest = scan_corpus(root, sample_rate=RATE, jobs=1, progress=False)
    return manifest, save_exact_checkpoint(tmp_path / "best.safetensors")


def test_local_engine_writes_the_pinned_table(exact, tmp_path):
    from musiclatent.latents.encode import encode_corpus

    manifest, ckpt = exact
    out = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "t.parquet", batch_size=3,
                        device="cpu", progress=False, row_group_rows=4)
    doc = canonical(out, tmp_path)
    # what the pin covers: rows of every readable track, the unreadable file, exact latents
    assert doc["metadata"]["problems"] and doc["metadata"]["num_rows"] == len(doc["columns"]["track_id"])
    assert doc["row_groups"] and sum(map(sum, doc["row_groups"])) == doc["metadata"]["num_rows"]
    assert fingerprint(out, tmp_path) == PINNED


def test_ray_engine_writes_the_same_table_as_the_local_one(exact, tmp_path):
    """Row data, latents and metadata equal to the bit; only the files (a folder of parts) and the
    ``engine`` key differ."""
    import os

    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.ray_engine import encode_corpus_ray

    try:
        import ray
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            raise
        pytest.skip("Ray not installed (pip install -e '.[ray]'); CI installs it")
    manifest, ckpt = exact
    local = encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "local.parquet", batch_size=3,
                          device="cpu", progress=False)
    here = str(Path(__file__).parent)
    paths = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": paths},
                          "worker_process_setup_hook": "latent_fakes.register_fake_in_worker"})
    try:
        remote = encode_corpus_ray(checkpoint=ckpt, manifest=manifest, out=tmp_path / "ray.parquet", batch_size=2,
                                   concurrency=2, tracks_per_task=2, progress=False, row_group_rows=3)
    finally:
        ray.shutdown()
    assert LatentTable.open(remote).metadata["engine"] == "ray"
    assert canonical(remote, tmp_path, layout=False, ignore=("engine",)) == canonical(local, tmp_path, layout=False)
    assert fingerprint(remote, tmp_path, layout=False, ignore=("engine",)) == fingerprint(local, tmp_path, layout=False)
