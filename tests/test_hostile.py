"""Hostile files end to end through the CLI: pickles that would run code, HTML/JS in labels and
file names, track ids that climb out of folders, and a plugin that raises.

Library-level checks live beside the code they test: malicious checkpoints and training states
(tests/test_checkpoint.py), escaping in the runner and the report (tests/test_analysis_runner.py,
tests/test_report.py), broken registering plugins (tests/test_registry.py).
"""

from __future__ import annotations

import csv
import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner
from latent_fakes import FAKE, RATE, register_fake, save_fake_checkpoint

from musiclatent.cli import cli

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, IMG)


@pytest.fixture(scope="module")
def hostile_ws(tmp_path_factory):
    """A corpus with an HTML file name and HTML labels, encoded, analysed and reported via the CLI."""
    from musiclatent import plugins

    torch.set_num_threads(1)
    plugins.reset()
    register_fake(plugins)
    base = tmp_path_factory.mktemp("hostile")
    music = base / "music"
    music.mkdir()
    names = [f"{IMG}.wav"] + [f"track{i}.wav" for i in range(8)]
    labels = [SCRIPT, IMG, "jazz"]
    t = np.arange(int(RATE * 2.5)) / RATE
    with open(base / "labels.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label"])
        for i, name in enumerate(names):
            tone = (0.2 + 0.1 * (i % 3)) * np.sin(2 * np.pi * (200 + 150 * (i % 3) + 7 * i) * t)
            sf.write(music / name, tone + 0.02 * np.random.default_rng(i).normal(size=t.size), RATE)
            writer.writerow([name, labels[i % 3]])
    ws = base / "ws"
    save_fake_checkpoint(ws / "runs" / FAKE / "best.safetensors")
    runner = CliRunner()
    env = {"MUSICLATENT_WORKSPACE": str(ws)}
    for argv in (["corpus", "scan", str(music), "--labels", str(base / "labels.csv"), "--sample-rate", str(RATE)],
                 ["encode", "--model", FAKE, "--device", "cpu", "-q"],
                 ["analyze", "pca", "--format", "html"],
                 ["analyze", "cluster", "--format", "html"],
                 ["analyze", "neighbors", "--format", "html"],
                 ["report", "--preview-seconds", "0.5"]):
        res = runner.invoke(cli, argv, env=env)
        assert res.exit_code == 0, (argv, res.output)
    yield base, ws
    plugins.reset()


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the text of each <script> element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.ends = {"script": 0}

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
            self.ends["script"] += 1

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def test_html_outputs_contain_no_injected_element(hostile_ws):
    _, ws = hostile_ws
    pages = sorted(ws.rglob("*.html"))
    assert {p.parent.name for p in pages} >= {"pca", "cluster", "neighbors", "report"}
    carrying = set()
    for page in pages:
        raw = page.read_text(encoding="utf-8")
        if "alert(1)" in raw:  # the labels are there (escaped), so the checks mean something
            carrying.add(page.parent.name)
        parser = _Collector()
        parser.feed(raw)
        parser.close()
        for tag, attrs in parser.tags:
            assert not (tag == "img" and attrs.get("src") == "x"), (page, tag, attrs)
            assert not any(a.startswith("on") and "alert" in (v or "") for a, v in attrs.items()), (page, attrs)
        assert len([t for t, _ in parser.tags if t == "script"]) == parser.ends["script"], page
        for text in parser.scripts:  # no script element is (or starts with) the injected code
            assert text.strip() not in ("alert(1)",), page
            assert SCRIPT not in text and "<img src=x" not in text, page  # raw payloads only as \u003c...
    assert carrying >= {"pca", "cluster", "neighbors", "report"}, carrying


def test_report_page_keeps_labels_as_text(hostile_ws):
    """In the report, the payloads come back out of the parser as text, never as markup."""
    _, ws = hostile_ws
    parser = _Collector()
    texts: list[str] = []
    parser.handle_data = lambda data, _orig=parser.handle_data: (texts.append(data), _orig(data))
    parser.feed((ws / "report" / "index.html").read_text(encoding="utf-8"))
    assert not [t for t, _ in parser.tags if t == "img"]
    body = "".join(texts)
    assert SCRIPT in body or IMG in body


def test_decode_latent_pickle_never_runs(hostile_ws, tmp_path):
    """`decode --latent` reads .npy with allow_pickle=False: an object array does not run its code."""
    _, ws = hostile_ws
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.npy"
    np.save(evil, np.array([_Boom(str(marker))], dtype=object), allow_pickle=True)
    npz = tmp_path / "latents.npz"
    np.savez(npz, z=np.zeros((2, 4), np.float32))
    for bad, reason in ((evil, "not a plain .npy array"), (npz, "not a numeric .npy array")):
        res = CliRunner().invoke(cli, ["decode", "--latent", str(bad), "--out-dir", str(tmp_path / "out")],
                                 env={"MUSICLATENT_WORKSPACE": str(ws)})
        assert res.exit_code == 1 and "Traceback" not in res.output, res.output
        assert bad.name in res.output and reason in res.output
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


class _Boom:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _rewrite_ids(src: Path, dst: Path, make_id) -> list[str]:
    """A copy of table ``src`` whose track ids and paths are hostile (a "shared" table)."""
    table = pq.read_table(src)
    ids = [make_id(t) for t in table.column("track_id").to_pylist()]
    i = table.schema.get_field_index("track_id")
    table = table.set_column(i, table.schema.field(i), pa.array(ids, pa.string()))
    j = table.schema.get_field_index("path")
    table = table.set_column(j, table.schema.field(j), pa.array([f"{x}.wav" for x in ids], pa.string()))
    pq.write_table(table, dst)
    return list(dict.fromkeys(ids))


def test_track_ids_climbing_out_write_only_inside_the_output(hostile_ws, tmp_path):
    _, ws = hostile_ws
    src = ws / "latents" / f"{FAKE}.parquet"
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    table = deep / "shared.parquet"
    ids = _rewrite_ids(src, table, lambda t: "../../../../escape-" + os.path.basename(t).replace("<", "_"))
    ids += _rewrite_ids(src, deep / "abs.parquet", lambda t: "/tmp/escape-abs-" + str(abs(hash(t))))
    before = {p for p in tmp_path.rglob("*")}
    env = {"MUSICLATENT_WORKSPACE": str(ws)}
    outs = {"decoded": deep / "decoded", "neighbors": deep / "nb", "report": deep / "rep"}
    runs = [["decode", str(table), "--track", ids[0], "--out-dir", str(outs["decoded"])],
            ["decode", str(deep / "abs.parquet"), "--track", ids[-1], "--out-dir", str(outs["decoded"])],
            ["analyze", "neighbors", "--table", str(table), "--out", str(outs["neighbors"]), "--format", "html"],
            ["report", "--table", str(table), "--out", str(outs["report"]), "--preview-seconds", "0.5"]]
    for argv in runs:
        res = CliRunner().invoke(cli, argv, env=env)
        assert res.exit_code == 0, (argv, res.output)
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert new and all(any(p.is_relative_to(o) for o in outs.values()) for p in new), sorted(new)
    assert len(list(outs["decoded"].glob("*.wav"))) == 2
    assert not list(Path("/tmp").glob("escape-*"))
    # the report made no preview of a path outside the corpus
    assert (outs["report"] / "index.html").is_file() and not list(outs["report"].rglob("tracks/*"))


def test_raising_analysis_plugin_is_named_and_others_still_run(hostile_ws, tmp_path):
    from musiclatent import plugins
    from musiclatent.hookspecs import hookimpl
    from musiclatent.registry import AnalysisSpec

    def boom(ctx):
        raise ZeroDivisionError("plugin bug")

    class Boom:
        @hookimpl
        def register_analyses(self, register):
            register(AnalysisSpec(name="boom", description="always fails", run=boom))

    _, ws = hostile_ws
    env = {"MUSICLATENT_WORKSPACE": str(ws)}
    plugins.register_plugin(Boom(), name="boom-plugin")
    try:
        res = CliRunner().invoke(cli, ["analyze", "boom", "--out", str(tmp_path / "boom")], env=env)
        assert res.exit_code == 1 and "Traceback" not in res.output, res.output
        line = res.output.strip().splitlines()[-1]
        assert "'boom'" in line and "boom-plugin" in line and "ZeroDivisionError: plugin bug" in line
        assert not (tmp_path / "boom").exists()
        res = CliRunner().invoke(cli, ["analyze", "pca", "--out", str(tmp_path / "pca"), "--format", "html"],
                                 env=env)
        assert res.exit_code == 0, res.output
        listing = CliRunner().invoke(cli, ["plugins"], env=env)
        assert listing.exit_code == 0 and "boom-plugin" in listing.output
    finally:
        plugins.unregister_plugin("boom-plugin")
