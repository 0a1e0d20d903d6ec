"""The report never shows sections made from an older table as if they described the current one:
each analysis' recorded table (path, checkpoint sha256, creation time) is compared with the
report's table, and a section that differs is marked stale (banner, class, report.json, CLI)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from report_helpers import make_workspace


def _retable(ws, name: str, table: dict) -> None:
    path = ws.root / "analyses" / name / "index.json"
    index = json.loads(path.read_text())
    index["table"] = table
    path.write_text(json.dumps(index))


def _setup(tmp_path):
    from musiclatent.latents.table import LatentTable
    from musiclatent.testing import write_synthetic_table

    ws, _ = make_workspace(tmp_path)
    table = write_synthetic_table(tmp_path / "new.parquet", n_tracks=4, n_labels=2,
                                  checkpoint_sha256="cd" * 32)
    created = LatentTable.open(table).metadata["created"]
    now = {"path": str(table), "checkpoint_sha256": "cd" * 32, "created": created}
    _retable(ws, "probe", now)                                        # current
    _retable(ws, "umap", {**now, "checkpoint_sha256": "ab" * 32})    # older checkpoint
    _retable(ws, "interpolate", {**now, "created": "2020-01-01T00:00:00+0000"})  # re-encoded since
    return ws, table                                                  # neighbors: another table


def test_sections_from_an_older_table_are_marked_stale(tmp_path):
    from musiclatent.report.build import build_report

    ws, table = _setup(tmp_path)
    index = build_report(ws, table=table, preview_seconds=0)
    page = index.read_text()
    manifest = json.loads((index.parent / "report.json").read_text())
    assert set(manifest["stale"]) == {"umap", "interpolate", "neighbors"}
    assert "checkpoint sha256 abababababab" in manifest["stale"]["umap"]
    assert "table made 2020-01-01" in manifest["stale"]["interpolate"]
    assert "another latent table" in manifest["stale"]["neighbors"]
    for name in ("umap", "interpolate", "neighbors"):
        assert f'<section id="sec-{name}" class="stale">' in page
    assert '<section id="sec-probe"><h2>' in page
    assert page.count('class="stale-banner"') == 3
    assert '<a href="#sec-umap" class="stale"' in page and '<a href="#sec-probe">probe</a>' in page
    assert manifest["notes"][0].startswith("STALE: 3 section(s)")


def test_report_command_warns_about_stale_sections(tmp_path):
    from musiclatent.cli import cli

    ws, table = _setup(tmp_path)
    result = CliRunner().invoke(cli, ["--workspace", str(ws.root), "report", "--table", str(table),
                                      "--preview-seconds", "0"])
    assert result.exit_code == 0, result.output
    warned = [ln for ln in result.output.splitlines() if ln.startswith("warning: section")]
    assert sorted(ln.split()[2] for ln in warned) == ["interpolate", "neighbors", "umap"]
