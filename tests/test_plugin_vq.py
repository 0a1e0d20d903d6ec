"""The example third-party distribution plugins/musiclatent-vq, through its real entry point.

CI installs it with pip (the README's test command); its architecture and analysis must work
exactly as built-ins do: listed with their distribution, trained, encoded, analysed.
"""

import json
import os
from importlib import metadata

import pytest
from click.testing import CliRunner

from musiclatent.cli import cli
from musiclatent.testing import check_analysis, check_architecture


def _installed() -> bool:
    return any(ep.name == "vq" for ep in metadata.entry_points(group="musiclatent"))


pytestmark = pytest.mark.skipif(
    not _installed() and not os.environ.get("CI"),
    reason="plugins/musiclatent-vq is not installed (pip install -e plugins/musiclatent-vq)",
)


def test_plugin_is_installed_through_its_entry_point():
    assert _installed(), "CI must pip install plugins/musiclatent-vq (see .ci/run)"
    dist = metadata.distribution("musiclatent-vq")
    assert any(ep.group == "musiclatent" and ep.value == "musiclatent_vq" for ep in dist.entry_points)


def test_listed_with_its_distribution():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.output)["plugins"]}
    for key in (("architecture", "vq12"), ("analysis", "tsne")):
        assert key in rows, f"{key} not listed"
        assert rows[key]["distribution"] == "musiclatent-vq 0.1.0"
        assert rows[key]["plugin"] == "vq"


def test_vq12_conforms():
    check_architecture("vq12", lengths=(22050, 1000, 37))


def test_tsne_conforms(tmp_path):
    index = check_analysis("tsne", tmp_path)
    assert index["analysis"] == "tsne"
    assert 0.0 <= index["summary"]["trustworthiness"] <= 1.0


def test_train_encode_analyze_through_the_cli(tiny_corpus, tmp_path):
    import torch

    torch.set_num_threads(1)
    runner = CliRunner()
    ws = ["-w", str(tmp_path / "ws")]
    steps = [
        ["corpus", "scan", str(tiny_corpus)],
        ["train", "--model", "vq12", "--epochs", "1", "--segment-seconds", "1", "--max-segments", "8"],
        ["encode", "--model", "vq12", "--segment-seconds", "1", "-q"],
        ["analyze", "tsne", "--perplexity", "5", "--format", "html"],
    ]
    for args in steps:
        result = runner.invoke(cli, ws + args)
        assert result.exit_code == 0, f"{args}: {result.output}"
    run = tmp_path / "ws" / "runs" / "vq12" / "run-001"
    assert (run / "best.safetensors").exists()
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics and all(m["train_loss"] == m["train_loss"] for m in metrics)  # finite, not NaN
    index = json.loads((tmp_path / "ws" / "analyses" / "tsne" / "index.json").read_text())
    assert index["plugin"] == "vq" and index["table"]["model"] == "vq12"
    assert (tmp_path / "ws" / "analyses" / "tsne" / "tsne_map.html").exists()
