"""The Ray engine on a real multi-node Ray cluster started on this machine, with a node killed mid-encode.

``ray.cluster_utils.Cluster`` starts a head (no CPUs: it only hosts the driver) and two worker
nodes (2 CPUs, an 80 MB object store each) as separate raylets. ``musiclatent encode --engine ray
--ray-address <head>`` joins it; after the first block of rows is written the driver SIGKILLs the
worker node that hosts one of the two model actors. The table must still hold every track exactly
once, equal row for row to the local engine's table. The model is a tiny plugin architecture whose
``encode`` sleeps (``tests/_slow_arch.py``), installed on the nodes through a ``.dist-info`` entry
point on their ``PYTHONPATH``, so the kill lands while blocks are still in flight.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray") if not os.environ.get("CI") else __import__("ray")

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024


def _install_slow_plugin(folder: Path) -> None:
    """A minimal installed distribution: the module plus a ``.dist-info`` with its entry point."""
    folder.mkdir(parents=True)
    shutil.copy(HERE / "_slow_arch.py", folder / "mlslowarch.py")
    info = folder / "mlslowarch-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mlslowarch\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[musiclatent]\nslowtiny = mlslowarch\n")


@pytest.fixture
def slow_plugin(tmp_path, monkeypatch, fresh_plugins):
    folder = tmp_path / "site"
    _install_slow_plugin(folder)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.getcwd(),
                                                                   os.environ.get("PYTHONPATH")])))
    fresh_plugins.reset()
    yield folder
    sys.modules.pop("mlslowarch", None)


@pytest.fixture
def cluster(slow_plugin, monkeypatch):
    """Head + two worker nodes; Ray's files in a private short temp dir (never /tmp/ray)."""
    from ray.cluster_utils import Cluster

    ray_tmp = tempfile.mkdtemp(prefix="mlray", dir="/tmp")  # short: Ray's unix socket paths
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # same on every box: no token file needed (one machine)
    fast_death = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                  "health_check_failure_threshold": 3}
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": 80 * MB, "include_dashboard": False,
        "_system_config": fast_death})
    workers = [c.add_node(num_cpus=2, object_store_memory=80 * MB) for _ in range(2)]
    c.wait_for_nodes()
    try:
        yield c, workers
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)


def _sorted(table):
    matrix, rows = table.segment_matrix()
    order = np.lexsort((rows["segment"].to_numpy(), rows["track_id"].to_numpy()))
    return matrix[order], rows.iloc[order].reset_index(drop=True)


def test_ray_address_that_is_no_address_is_refused_in_one_line(monkeypatch):
    from musiclatent.latents.errors import LatentTableError
    from musiclatent.latents.ray_engine import ray_session

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert not ray.is_initialized()
    with pytest.raises(LatentTableError, match="cannot join the Ray cluster at head:not-a-port") as info:
        with ray_session("head:not-a-port"):
            pass
    assert "\n" not in str(info.value) and not ray.is_initialized()


@pytest.mark.slow
def test_cluster_encode_survives_a_killed_worker_node(cluster, tmp_path, monkeypatch):
    import torch
    from click.testing import CliRunner

    from musiclatent.checkpoint import save_checkpoint
    from musiclatent.cli import cli
    from musiclatent.corpus.manifest import scan_corpus
    from musiclatent.corpus.synth import synthesize_corpus
    from musiclatent.latents import ray_engine
    from musiclatent.latents.encode import encode_corpus
    from musiclatent.latents.table import LatentTable
    from musiclatent.plugins import get_registry

    c, workers = cluster
    torch.set_num_threads(1)
    root = tmp_path / "corpus"
    synthesize_corpus(root, tracks_per_genre=1, seconds=2.0, seed=0, progress=False)
    manifest = scan_corpus(root, quick=True, progress=False, jobs=1)
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "slow.safetensors", get_registry().architecture("slowtiny").build(),
                           model_name="slowtiny", training={"segment_seconds": 1.0})
    local = LatentTable.open(encode_corpus(checkpoint=ckpt, manifest=manifest, out=tmp_path / "local.parquet",
                                           device="cpu", progress=False, batch_size=4))

    killed: dict[str, object] = {}
    actors: list[dict] = []
    real_write_block = ray_engine._write_block

    def write_then_kill(block, writer, *args, **kwargs):
        audio_s = real_write_block(block, writer, *args, **kwargs)
        actors[:] = [a for a in ray._private.state.actors().values() if "MapWorker" in a["ActorClassName"]]
        if not killed:  # once some rows exist: SIGKILL a worker node that hosts a model actor
            hosts = {a["Address"]["NodeID"] for a in actors if a["State"] == "ALIVE"}
            victims = [n for n in workers if n.node_id in hosts]
            assert victims, "no worker node hosts a live model actor after the first block: nothing left to kill"
            victim = victims[0]
            killed.update(node=victim.node_id, rows_before=writer.rows_written + writer._buffered)
            c.remove_node(victim, allow_graceful=False)
        return audio_s

    monkeypatch.setattr(ray_engine, "_write_block", write_then_kill)
    out = tmp_path / "ray.parquet"
    res = CliRunner().invoke(cli, ["encode", "--engine", "ray", "--ray-address", c.address, "--concurrency", "2",
                                   "--checkpoint", str(ckpt), "--data", str(root), "--out", str(out),
                                   "--batch-size", "4", "-q"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert killed and 0 < killed["rows_before"] < local.num_rows  # the kill landed mid-encode
    assert any(a["NumRestarts"] >= 1 for a in actors) or len(actors) > 2  # an actor died and came back
    table = LatentTable.open(out).validate(deep=True)
    ids = table.track_ids()
    assert ids == local.track_ids() and len(set(ids)) == len(manifest.tracks)  # every track exactly once
    lat_a, rows_a = _sorted(local)
    lat_b, rows_b = _sorted(table)
    assert rows_a.equals(rows_b)
    np.testing.assert_allclose(lat_a, lat_b, rtol=1e-5, atol=1e-6)


def test_join_errors_name_the_token_fix_and_a_pool_too_big_is_said():
    """A head that wants a token: the one-line error says what to set. A pool that does not fit: one line."""
    from musiclatent.latents.ray_engine import _check_capacity, _join_reason

    try:
        try:
            raise ray.exceptions.AuthenticationError("Authentication token is missing or incorrect")
        except ray.exceptions.AuthenticationError as inner:
            raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.1:6379") from inner
    except ConnectionError as exc:
        reason = _join_reason(exc)
    assert reason.startswith("Failed to connect to Ray cluster at 10.0.0.1:6379; ")
    assert "RAY_AUTH_MODE=token" in reason and "\n" not in reason
    assert "RAY_AUTH_MODE" not in _join_reason(ConnectionError("Failed to connect to Ray cluster at h:1"))

    class FakeRay:
        @staticmethod
        def cluster_resources():
            return {"CPU": 0.0}

    said: list[str] = []
    _check_capacity(FakeRay, 2, 1, 0, said.append)
    assert len(said) == 1 and "has 0 CPUs for --concurrency 2" in said[0]
    said.clear()
    FakeRay.cluster_resources = staticmethod(lambda: {"CPU": 4.0})
    _check_capacity(FakeRay, 2, 1, 0, said.append)
    assert said == []
