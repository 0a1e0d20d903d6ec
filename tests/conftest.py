"""Shared fixtures. Keep data tiny: CI has 2 CPU cores."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path, monkeypatch):
    """Every test gets its own workspace folder; nothing is written into the repository."""
    monkeypatch.setenv("MUSICLATENT_WORKSPACE", str(tmp_path / "ws"))
    yield


@pytest.fixture
def fresh_plugins():
    """A clean plugin manager before and after the test (for tests that register fake plugins)."""
    from musiclatent import plugins

    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A GTZAN-shaped synthetic corpus: 10 genres x 2 tracks x 3 s, built once per session."""
    from musiclatent.corpus.synth import synthesize_corpus

    root = tmp_path_factory.mktemp("corpus")
    synthesize_corpus(root, tracks_per_genre=2, seconds=3.0, seed=0, progress=False)
    return root
