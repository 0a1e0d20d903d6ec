"""The installed torch and torchaudio are a matching pair, and the one constraints.txt names."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest

from musiclatent.environment import torch_pair_problems

CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"


def _pinned(name: str) -> str:
    match = re.search(rf"^{re.escape(name)}==(\S+)$", CONSTRAINTS.read_text(), re.M)
    assert match, f"constraints.txt does not pin {name}"
    return match.group(1)


def test_torch_and_torchaudio_are_a_matching_pair():
    """Fails loudly on a mismatched pair, whoever installed it (set MUSICLATENT_ALLOW_TORCH_MISMATCH=1
    only for the documented newest-torch numeric check)."""
    problems = torch_pair_problems()
    if os.environ.get("MUSICLATENT_ALLOW_TORCH_MISMATCH") == "1":
        pytest.xfail("mismatch allowed for the newest-torch check: " + "; ".join(problems or ["none"]))
    assert not problems, "; ".join(problems)


def test_constraints_pin_a_pair_that_torchaudio_accepts():
    from packaging.requirements import Requirement
    from packaging.version import Version

    torch_v, audio_v = _pinned("torch"), _pinned("torchaudio")
    assert torch_v.split(".")[:2] == audio_v.split(".")[:2]
    if metadata.version("torchaudio").split("+")[0] == audio_v:  # the installed one is the pinned one
        reqs = [Requirement(r) for r in metadata.requires("torchaudio") or []]
        assert any(r.name == "torch" and r.specifier.contains(Version(torch_v)) for r in reqs)


def test_the_pair_check_catches_a_mismatch(monkeypatch):
    import musiclatent.environment as env

    versions = {"torch": "2.14.1+cu130", "torchaudio": "2.11.1"}
    monkeypatch.setattr(env.metadata, "version", lambda name: versions[name])
    monkeypatch.setattr(env.metadata, "requires", lambda name: ["torch>=2.11"])
    problems = env.torch_pair_problems()
    assert len(problems) == 1 and "different releases" in problems[0]
    monkeypatch.setattr(env.metadata, "requires", lambda name: ["torch==2.9.1"])
    versions.update(torch="2.10.0", torchaudio="2.9.1")
    assert len(env.torch_pair_problems()) == 2
