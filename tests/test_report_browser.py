"""Open the report in headless Chromium (Debian's ``chromium``): no console errors, the charts
render, and clicking a point on the UMAP map plays that track.

Needs the ``playwright`` Python package (dev extra) driving the system Chromium at
/usr/bin/chromium (no browser download). Under CI (``CI`` set) a missing browser is a failure;
locally the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from report_helpers import EVIL_LABEL, make_workspace

from musiclatent.fileio import safe_name
from musiclatent.report.build import build_report

pytestmark = pytest.mark.browser

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required", "--mute-audio"]


def _chromium() -> str:
    path = os.environ.get("MUSICLATENT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright package is missing: pip install -e '.[dev]'"
    if problem is None and not Path(path).is_file():
        problem = "headless Chromium is missing: apt-get install chromium"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run under CI: {problem}")
        pytest.skip(problem)
    return path


@pytest.fixture
def browser_page():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            log: list[tuple[str, str]] = []
            page.on("console", lambda m: log.append((m.type, m.text)))
            page.on("pageerror", lambda exc: log.append(("pageerror", str(exc))))
            page.on("dialog", lambda d: (log.append(("dialog", d.message)), d.dismiss()))
            page.on("request", lambda r: log.append(("request", r.url)) if not r.url.startswith(("file:", "data:", "blob:")) else None)
            yield page, log
        finally:
            browser.close()


def test_report_in_chromium(tmp_path, browser_page):
    page, log = browser_page
    ws, tracks = make_workspace(tmp_path)
    index = build_report(ws, preview_seconds=1.0)
    page.goto(index.as_uri())
    page.wait_for_function("window.musiclatent && window.musiclatent.ready === true", timeout=60_000)
    assert page.evaluate("window.musiclatent.errors") == []

    # the charts rendered: one SVG per chart, the map with one symbol per track
    assert page.locator("svg.marks").count() == 2
    points = page.locator("#sec-umap g.mark-symbol.role-mark path")
    assert points.count() == len(tracks)
    assert page.locator("#sec-probe g.mark-rect.role-mark path").count() == 9

    # click the point of a track with a hostile label: its preview plays
    target = next(t for t in tracks if t["label"] == EVIL_LABEL)
    labels = [points.nth(i).get_attribute("aria-label") or "" for i in range(points.count())]
    hits = [i for i, text in enumerate(labels) if target["track_id"] in text]
    assert len(hits) == 1, labels
    points.nth(hits[0]).click()
    page.wait_for_function("document.getElementById('player').getAttribute('data-playing') === 'true'",
                           timeout=20_000)
    player = page.evaluate("""() => { const a = document.getElementById('player');
        return {track: a.getAttribute('data-track'), src: a.src, paused: a.paused}; }""")
    assert player["track"] == target["track_id"]
    assert Path(player["src"]).stem == safe_name(target["track_id"])
    assert player["paused"] is False
    # the clicked track's neighbours appear with their own players
    assert page.locator("#clicked-neighbors button.play").count() == 2

    # a neighbour's play button switches the player to that track
    other = tracks[-1]["track_id"]
    buttons = page.locator("#sec-neighbors td.query button.play")
    assert buttons.count() == len(tracks)
    buttons.nth(len(tracks) - 1).click()
    page.wait_for_function("id => document.getElementById('player').getAttribute('data-track') === id", arg=other)

    # "songs like this": the clicked map point set the panel; picking a track by id changes it
    assert page.locator("#like-track").inner_text().find(target["track_id"]) >= 0
    pick = tracks[4]
    page.fill("#like-input", pick["track_id"])
    page.press("#like-input", "Enter")
    panel = page.locator("#like-neighbors button.play")
    assert panel.count() == 2
    assert [panel.nth(i).get_attribute("data-track") for i in range(2)] == [
        tracks[5]["track_id"], tracks[6]["track_id"]]
    panel.nth(1).click()
    page.wait_for_function("id => document.getElementById('player').getAttribute('data-track') === id",
                           arg=tracks[6]["track_id"])
    assert "--query YOUR_SONG.wav" in page.locator("#query-cmd").inner_text()
    assert page.locator("#like-tracks option").count() == len(tracks)

    errors = [entry for entry in log if entry[0] in ("error", "pageerror", "dialog", "request")]
    assert errors == [], errors
