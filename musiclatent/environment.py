"""Checks of the installed environment: is torch the release torchaudio was built for?

torchaudio releases go with one torch release (torchaudio 2.9.1 requires ``torch==2.9.1``; 2.11
only says ``torch>=2.11``), and an unconstrained ``pip install`` can pair a new torch with an old
torchaudio. ``torch_pair_problems()`` returns what is wrong (empty when the pair is right);
``constraints.txt`` at the repository root names the pair that CI tests.
"""

from __future__ import annotations

from importlib import metadata


def _release(version: str) -> tuple[int, int]:
    """``"2.9.1+cu128"`` -> ``(2, 9)``."""
    parts = version.split("+")[0].split(".")
    return int(parts[0]), int(parts[1])


def torch_pair_problems() -> list[str]:
    """Reasons the installed torch / torchaudio are not a matching pair (``[]`` when they are)."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    try:
        torch_v, audio_v = metadata.version("torch"), metadata.version("torchaudio")
    except metadata.PackageNotFoundError as exc:
        return [f"{exc.name} is not installed"]
    problems = []
    for line in metadata.requires("torchaudio") or []:
        req = Requirement(line)
        if req.name == "torch" and not req.specifier.contains(Version(torch_v), prereleases=True):
            problems.append(f"torchaudio {audio_v} requires torch{req.specifier}, but torch {torch_v} is installed")
    if _release(torch_v) != _release(audio_v):
        problems.append(f"torch {torch_v} and torchaudio {audio_v} are from different releases "
                        "(install both through constraints.txt)")
    return problems


__all__ = ["torch_pair_problems"]
