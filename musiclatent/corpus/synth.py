"""A synthetic, GTZAN-shaped demo corpus: procedurally composed music in ten genre-like styles.

``render_track(genre, seed)`` composes and renders one clip (drums, bass, chords, melody;
numpy only, vectorised); ``synthesize_corpus(out)`` writes ``out/genres/<genre>/<genre>.000NN.wav``
(22050 Hz mono 16-bit PCM, atomically, resuming an interrupted run). See docs/synthetic-corpus.md.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musiclatent.corpus.errors import CorpusError
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.corpus.synth_compose import Plan, draw_plan
from musiclatent.corpus.synth_dsp import drive, drum_kit, eq_bus, master_fx, place, render_note
from musiclatent.corpus.synth_styles import INSTRUMENTS
from musiclatent.fileio import atomic_path

GENRES: tuple[str, ...] = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
PEAK = 10 ** (-1 / 20)  # -1 dBFS


class SynthArgumentError(CorpusError, ValueError):
    """A bad argument to the synthesizer (unknown genre, bad length or rate); a ``ValueError``."""


def _check_genre(genre: str) -> None:
    if genre not in GENRES:
        raise SynthArgumentError(f"unknown genre {genre!r}: choose one of {', '.join(GENRES)}")


def _rng(genre: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(genre.encode("utf-8")), int(seed) % 2**64])


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def _render_part(notes, inst_name: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    bus = np.zeros(n)
    inst = INSTRUMENTS[inst_name](rng)
    for t0, dur, midi, vel in notes:
        if 0 <= t0 * sr < n:
            place(bus, t0, render_note(inst, midi, dur, vel, sr, rng), sr)
    return bus


def _mix(plan: Plan, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    style = plan.style
    buses: list[tuple[np.ndarray, float]] = []
    if plan.drums:
        kit = drum_kit(plan.kit, sr, rng)
        gains = {"kick": 1.0, "snare": 0.8, "clap": 0.7, "rim": 0.5, "brush": 0.5, "hat": 0.45, "openhat": 0.4,
                 "ride": 0.5, "crash": 0.6, "tom": 0.7}
        if plan.kit == "jazz":
            gains.update(kick=0.4, hat=0.4, ride=0.3)
        drums = np.zeros(n)
        for t0, name, vel in plan.drums:
            place(drums, t0, vel * gains[name] * kit[name], sr)
        buses.append((drums, style.levels[0]))
    for part, level, drv in (("bass", style.levels[1], style.bass_drive), ("comp", style.levels[2], style.comp_drive),
                             ("lead", style.levels[3], (0.0, 0.0))):
        notes = getattr(plan, part)
        if not notes:
            continue
        inst = plan.instruments[part]
        bus = _render_part(notes, inst, n, sr, rng)
        amount = rng.uniform(*drv) if drv[1] > 0 else (rng.uniform(6, 15) if inst == "dist" else 0.0)
        if amount > 0:  # amp: tighten the lows, clip, then a guitar-cabinet band with presence
            bus = drive(eq_bus(bus, sr, 120, 8000), amount)
            bus = eq_bus(bus, sr, 90, rng.uniform(4500, 7000), peak_hz=rng.uniform(1500, 3000), peak_db=6)
        buses.append((bus, level))
    mix = np.zeros(n)
    for bus, level in buses:
        r = _rms(bus)
        if r > 1e-9:
            mix += bus / r * 10 ** ((level + rng.normal(0, 2.0)) / 20)
    if plan.kit == "metal" or style.comp_drive[1] > 10:
        mix = drive(mix, 1.5)
    mix = master_fx(mix, sr, rng, wet=float(rng.uniform(*style.reverb)), rt=float(rng.uniform(*style.reverb_time)),
                    cutoff=float(min(rng.uniform(*style.cutoff), 0.45 * sr)), tilt_db=float(rng.uniform(*style.tilt)))
    r = max(_rms(mix), 1e-9)
    mix += rng.standard_normal(n) * r * 10 ** (rng.uniform(*style.noise_db) / 20)
    if style.crackle:
        pops = np.flatnonzero(rng.uniform(size=n) < 8.0 / sr)
        mix[pops] += rng.uniform(-1, 1, pops.size) * r * 3
    return mix


def render_track(genre: str, seed: int, seconds: float = 30.0, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Compose and render one clip of ``genre``: float32 mono in [-1, 1], peak at about -1 dBFS.

    The same ``(genre, seed)`` always gives the same samples. Raises ``ValueError`` for an
    unknown genre, a non-positive length or a sample rate below 8000 Hz.
    """
    _check_genre(genre)
    if not seconds > 0:
        raise SynthArgumentError(f"seconds must be positive, got {seconds}")
    if sample_rate < 8000:
        raise SynthArgumentError(f"sample_rate must be at least 8000 Hz, got {sample_rate}")
    rng = _rng(genre, seed)
    n = int(round(seconds * sample_rate))
    plan, _grid, offset = draw_plan(genre, rng, seconds)
    start = int(offset * sample_rate)
    audio = _mix(plan, start + n, sample_rate, rng)[start:]
    audio -= audio.mean()
    peak = float(np.abs(audio).max())
    if not np.isfinite(peak) or peak < 1e-6:
        raise RuntimeError(f"synthesis of {genre} seed {seed} produced silence")  # never expected
    return (audio * (PEAK / peak)).astype(np.float32)


def track_seed(seed: int, genre: str, index: int) -> int:
    """The render seed of track ``index`` of ``genre`` in a corpus made with ``seed``."""
    ss = np.random.SeedSequence([int(seed) % 2**64, zlib.crc32(genre.encode("utf-8")), int(index)])
    return int(ss.generate_state(1, np.uint64)[0])


def _complete(path: Path, frames: int, sample_rate: int) -> bool:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # unreadable or truncated: render again
        return False
    return (info.frames == frames and info.samplerate == sample_rate and info.channels == 1
            and info.subtype == "PCM_16")


def synthesize_corpus(out: str | Path, tracks_per_genre: int = 10, seconds: float = 30.0, seed: int = 0,
                      sample_rate: int = DEFAULT_SAMPLE_RATE, genres: Sequence[str] = GENRES, progress: bool = True) -> list[Path]:
    """Write a GTZAN-shaped corpus ``out/genres/<genre>/<genre>.000NN.wav`` and return the paths.

    Each file is 16-bit PCM mono WAV at ``sample_rate``, written atomically; a file that already
    exists with the expected length and format is kept (an interrupted run resumes). Tracks are
    deterministic in ``(seed, genre, index)``.
    """
    import soundfile as sf
    from tqdm import tqdm

    genres = list(genres)
    for g in genres:
        _check_genre(g)
    if tracks_per_genre < 0:
        raise SynthArgumentError(f"tracks_per_genre must be >= 0, got {tracks_per_genre}")
    if not seconds > 0:
        raise SynthArgumentError(f"seconds must be positive, got {seconds}")
    if sample_rate < 8000:
        raise SynthArgumentError(f"sample_rate must be at least 8000 Hz, got {sample_rate}")
    frames = int(round(seconds * sample_rate))
    root = Path(out) / "genres"
    jobs = [(g, i, root / g / f"{g}.{i:05d}.wav") for g in genres for i in range(tracks_per_genre)]
    paths = []
    for genre, i, path in tqdm(jobs, desc="synth corpus", unit="track", disable=None if progress else True):
        if not _complete(path, frames, sample_rate):
            audio = render_track(genre, track_seed(seed, genre, i), seconds, sample_rate)
            with atomic_path(path) as tmp:
                sf.write(str(tmp), audio, sample_rate, subtype="PCM_16", format="WAV")
        paths.append(path)
    return paths
