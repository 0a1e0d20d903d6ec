"""``musiclatent demo --fast`` end to end: synth -> scan -> train -> encode -> analyses -> report,
and a second run skips every finished step."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from musiclatent.demo import DEFAULT_MODEL

pytestmark = pytest.mark.slow


def test_demo_fast_end_to_end_and_resumes(tmp_path):
    import torch

    torch.set_num_threads(1)
    from musiclatent.cli import cli
    from musiclatent.demo import DEMO_ANALYSES, run_demo

    ws_root = tmp_path / "ws"
    result = CliRunner().invoke(cli, ["--workspace", str(ws_root), "demo", "--fast"])
    assert result.exit_code == 0, result.output
    index = ws_root / "report" / "index.html"
    assert f"report: {index}" in result.output
    page = index.read_text()
    for name in DEMO_ANALYSES:
        assert f'id="sec-{name}"' in page
        assert f'id="sec-{name}" class="missing"' not in page
        assert (ws_root / "analyses" / name / "index.json").is_file()
        # docs/user-guide.md: analyses/<name>/ holds charts as .html .png .json
        analysis_index = json.loads((ws_root / "analyses" / name / "index.json").read_text())
        for chart in (o for o in analysis_index["outputs"] if o["kind"] == "chart"):
            assert set(chart["files"]) == {"html", "png", "json"}, (name, chart)
            png = ws_root / "analyses" / name / chart["files"]["png"]
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (ws_root / "runs" / DEFAULT_MODEL / "run-001" / "best.safetensors").is_file()
    assert (ws_root / "latents" / f"{DEFAULT_MODEL}.parquet").is_file()
    previews = list((ws_root / "report" / "audio" / "tracks").iterdir())
    assert len(previews) == 20  # 10 genres x 2 tracks, each clickable on the map
    manifest = json.loads((ws_root / "report" / "report.json").read_text())
    assert manifest["provenance"]["model"] == DEFAULT_MODEL
    assert len(manifest["provenance"]["checkpoint sha256"]) == 64
    assert manifest["stale"] == {}  # every section was made from the table the header names

    lines: list[str] = []
    again = run_demo(ws_root, fast=True, progress=False, log=lines.append)
    status = {s["step"]: s["status"] for s in again.steps}
    assert [s for s, v in status.items() if v == "done"] == ["build the report"], status
    assert again.report == index and index.is_file()
    assert any("skipped (already done)" in line for line in lines)


def test_the_old_pipeline_module_still_gives_the_demo_with_a_warning():
    import musiclatent.demo as demo
    import musiclatent.pipeline as old

    with pytest.warns(DeprecationWarning, match="musiclatent.demo.run_demo"):
        assert old.run_demo is demo.run_demo
    with pytest.warns(DeprecationWarning):
        assert old.DEFAULT_MODEL == demo.DEFAULT_MODEL == "mel12"
    with pytest.raises(AttributeError), pytest.warns(DeprecationWarning):
        old.no_such_name  # noqa: B018


def test_demo_config_sizes_and_overrides():
    from musiclatent.demo import FAST_SIZES, DemoConfig

    fast = DemoConfig.of(fast=True, epochs=3)
    assert (fast.sizes, fast.tracks_per_genre, fast.seconds, fast.epochs) == (FAST_SIZES, 2, 4.0, 3)
    assert DemoConfig.of() == DemoConfig()  # the defaults are DEFAULT_SIZES'
    with pytest.raises(ValueError, match="at least 2 tracks per genre"):
        DemoConfig.of(tracks_per_genre=1)
    with pytest.raises(AttributeError):
        fast.epochs = 5  # frozen
