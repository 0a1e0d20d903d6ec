"""Procedural composition for the synthetic corpus: one :class:`Plan` of note and drum events per track.

A plan is drawn from a genre :class:`~musiclatent.corpus.synth_styles.Style`: key, scale,
tempo, swing, a chord progression, a drum pattern, a bass riff, a comping pattern and a melody
(a scale-based random walk whose motif repeats with variation), with an arrangement that
switches parts on and off per bar. Times are in seconds; pitches are MIDI numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from musiclatent.corpus.synth_styles import CHORDS, SCALES, STYLES, Style

Note = tuple[float, float, float, float]  # start s, held s, midi, velocity
Hit = tuple[float, str, float]  # start s, drum name, velocity

_V = {".": 0.0, "o": 0.3, "x": 0.7, "X": 1.0}
DRUMS: dict[str, tuple[dict[str, str], ...]] = {
    "rock_basic": ({"kick": "X.......X.x.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
                   {"kick": "X.....x.X.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."}),
    "pop": ({"kick": "X..x..x...X.....", "clap": "....X.......X...", "hat": "xoxoxoxoxoxoxoxo"},
            {"kick": "X.......X..x....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."}),
    "four_floor": ({"kick": "X...X...X...X...", "clap": "....X.......X...", "openhat": "..x...x...x...x.",
                    "hat": "o.o.o.o.o.o.o.o."},
                   {"kick": "X...X...X...X...", "snare": "....X.......X...", "openhat": "..x...x...x...x.",
                    "hat": "oooooooooooooooo"}),
    "boombap": ({"kick": "X......x.xX.....", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."},
                {"kick": "X.x.......X..x..", "snare": "....X.......X..o", "hat": "x.xox.x.x.xox.x."}),
    "one_drop": ({"kick": "........X.......", "rim": "........X.......", "hat": "x.x.x.x.x.x.x.x."},
                 {"kick": "........X.......", "snare": "........X.......", "hat": "x.xxx.xxx.xxx.xx"}),
    "steppers": ({"kick": "X...X...X...X...", "rim": "........X.......", "hat": "..x...x...x...x."},),
    "shuffle": ({"kick": "X.......X.......", "snare": "....X.......X...", "ride": "x.x.x.x.x.x.x.x.",
                 "hat": "....x.......x..."},
                {"kick": "X.....x.X.......", "snare": "....X.......X...", "hat": "x.x.x.x.x.x.x.x."}),
    "train": ({"kick": "X.......X.......", "brush": "xoxoXoxoxoxoXoxo"},
              {"kick": "X.......X.......", "brush": "x.x.X.x.x.x.X.x.", "hat": "..x...x...x...x."}),
    "jazz_ride": ({"ride": "X...x.x.X...x.x.", "hat": "....x.......x...", "kick": "o...o...o...o..."},),
    "double_kick": ({"kick": "xxxxxxxxxxxxxxxx", "snare": "....X.......X...", "crash": "x...x...x...x..."},
                    {"kick": "X.xxX.xxX.xxX.xx", "snare": "....X.......X...", "ride": "x.x.x.x.x.x.x.x."}),
    "blast": ({"kick": "x.x.x.x.x.x.x.x.", "snare": ".x.x.x.x.x.x.x.x", "ride": "x.x.x.x.x.x.x.x."},),
}


@dataclass
class Plan:
    """Everything one track needs to be rendered."""

    style: Style
    tempo: float
    key: int  # pitch class of the tonic
    scale: tuple[int, ...]
    bars: int
    kit: str
    drums: list[Hit] = field(default_factory=list)
    bass: list[Note] = field(default_factory=list)
    comp: list[Note] = field(default_factory=list)
    lead: list[Note] = field(default_factory=list)
    instruments: dict[str, str] = field(default_factory=dict)


class Grid:
    """16 steps per 4/4 bar, with 8th and 16th swing (1.0 = triplet feel)."""

    def __init__(self, tempo: float, swing8: float, swing16: float):
        self.beat = 60.0 / tempo
        a = 0.5 + swing8 / 6
        b = 0.5 + swing16 / 6
        self.frac = (0.0, a * b, a, a + (1 - a) * b)

    def time(self, bar: int, step: float) -> float:
        beat, sub = divmod(step, 4)
        i = int(sub)
        frac = self.frac[i] + (sub - i) * ((self.frac[i + 1] if i < 3 else 1.0) - self.frac[i])
        return (bar * 4 + beat + frac) * self.beat


def _borrow(style: Style, rng: np.random.Generator) -> Style:
    """Sometimes take one ingredient from another style, so genres overlap as real ones do."""
    if rng.uniform() > 0.25:
        return style
    other = STYLES[str(rng.choice(sorted(STYLES)))]
    what = str(rng.choice(["drums", "comp_inst", "lead_inst", "bass_inst", "tempo", "reverb"]))
    if what == "drums" and other.drums:
        return replace(style, drums=other.drums, kit=other.kit)
    if what == "drums":
        return style
    return replace(style, **{what: getattr(other, what)})


def draw_plan(genre: str, rng: np.random.Generator, seconds: float) -> tuple[Plan, Grid, float]:
    """Compose one track of ``genre``; returns the plan, its grid and a start offset in seconds."""
    style = _borrow(STYLES[genre], rng)
    tempo = float(rng.uniform(*style.tempo))
    grid = Grid(tempo, float(rng.uniform(*style.swing8)), float(rng.uniform(*style.swing16)))
    bar_s = 4 * grid.beat
    offset = float(rng.uniform(0, bar_s))
    bars = int(np.ceil((seconds + offset) / bar_s)) + 1
    plan = Plan(style=style, tempo=tempo, key=int(rng.integers(12)), scale=SCALES[str(rng.choice(style.scales))],
                bars=bars, kit=style.kit)
    prog = style.progressions[int(rng.integers(len(style.progressions)))]
    chord_steps = max(1, int(16 * float(rng.choice(style.chord_bars))))
    if len(prog) == 12:  # 12-bar blues keeps its bar structure
        chord_steps = 16

    def chord(bar: int, step: int) -> tuple[int, tuple[int, ...]]:
        idx = ((bar * 16 + step) // chord_steps) % len(prog)
        off, qual = prog[idx]
        return (plan.key + off) % 12, CHORDS[qual]

    phrase = 12 if len(prog) == 12 else 4
    on = _arrangement(style, rng, bars, phrase)
    plan.instruments = {p: str(rng.choice(getattr(style, f"{p}_inst"))) for p in ("bass", "comp", "lead")}
    kick_steps = _drums(plan, grid, rng, on["drums"], phrase)
    _bass(plan, grid, rng, chord, on["bass"], kick_steps)
    _comp(plan, grid, rng, chord, on["comp"])
    _lead(plan, grid, rng, chord, on["lead"])
    return plan, grid, offset


def _arrangement(style: Style, rng: np.random.Generator, bars: int, phrase: int) -> dict[str, np.ndarray]:
    on = {p: np.ones(bars, bool) for p in ("drums", "bass", "comp", "lead")}
    for start in range(0, bars, phrase):
        on["lead"][start:start + phrase] = rng.uniform() < style.lead_prob
    if rng.uniform() < 0.35:  # intro: no drums/melody for a while
        n = int(rng.choice([2, 4]))
        on["drums"][:n] = False
        on["lead"][:n] = False
        on["bass"][:n] = rng.uniform() < 0.75
    if rng.uniform() < 0.15 and bars > phrase * 2:  # breakdown
        s = phrase * int(rng.integers(1, bars // phrase))
        on["drums"][s:s + phrase // 2] = False
    if not style.drums:
        on["drums"][:] = False
    return on


def _drums(plan: Plan, grid: Grid, rng: np.random.Generator, on: np.ndarray, phrase: int) -> list[int]:
    style = plan.style
    if not style.drums:
        return [0, 8]
    pattern = DRUMS[str(rng.choice(style.drums))]
    pattern = pattern[int(rng.integers(len(pattern)))]
    tight = 0.002 if plan.kit in ("disco", "808", "pop") else 0.008
    ghosts = rng.uniform(0, 0.12)
    fill_p = rng.uniform(0.2, 0.7)
    for bar in range(plan.bars):
        if not on[bar]:
            continue
        fill = (bar % phrase == phrase - 1) and rng.uniform() < fill_p
        for name, steps in pattern.items():
            for s, ch in enumerate(steps):
                v = _V[ch]
                if fill and s >= 12 and name in ("kick", "snare", "hat", "ride", "brush"):
                    continue
                if v == 0 and name in ("snare", "brush") and rng.uniform() < ghosts:
                    v = 0.25
                if v > 0:
                    t = grid.time(bar, s) + rng.normal(0, tight)
                    plan.drums.append((t, name, v * rng.uniform(0.85, 1.0)))
        if plan.kit == "jazz":  # snare comping
            for s in rng.choice(16, size=int(rng.integers(0, 4)), replace=False):
                plan.drums.append((grid.time(bar, int(s) // 2 * 2), "snare", rng.uniform(0.15, 0.4)))
        if fill:
            for s in range(12, 16):
                plan.drums.append((grid.time(bar, s), str(rng.choice(["snare", "tom"])), rng.uniform(0.6, 1.0)))
        if bar % phrase == 0 and bar > 0 and rng.uniform() < 0.6 and plan.kit not in ("jazz", "reggae"):
            plan.drums.append((grid.time(bar, 0), "crash", 0.8))
    return [s for s, ch in enumerate(pattern.get("kick", "X.......X.......")) if ch != "."]


def _bass(plan: Plan, grid: Grid, rng: np.random.Generator, chord, on: np.ndarray, kick_steps: list[int]) -> None:
    kind = str(rng.choice(plan.style.bass))
    base = 28 + (plan.key - 4) % 12  # E1..D#2 region
    riff: list[tuple[int, int, str]]
    if kind == "root8":
        riff = [(s, 2, str(rng.choice(["r", "r", "r", "o", "5"]))) for s in range(0, 16, 2)]
    elif kind == "octave":
        riff = [(s, 1, "r" if s % 4 == 0 else "o") for s in range(0, 16, 2)]
    elif kind == "root_fifth":
        riff = [(0, 3, "r"), (8, 3, "5")] + ([(4, 2, "5"), (12, 2, "r")] if rng.uniform() < 0.5 else [])
    elif kind == "boogie":
        riff = [(s, 2, b) for s, b in zip(range(0, 16, 2), ["r", "3", "5", "6", "b7", "6", "5", "3"], strict=True)]
    elif kind == "long":
        riff = [(0, 16, "r")] if rng.uniform() < 0.5 else [(0, 8, "r"), (8, 8, "5")]
    elif kind == "sub_hits":
        ks = kick_steps + [16]
        riff = [(s, max(1, ks[i + 1] - s), "r") for i, s in enumerate(ks[:-1])]
    elif kind == "chug":
        riff = [(s, 1, "r") for s in range(16) if rng.uniform() < 0.8 or s % 4 == 0]
    elif kind == "reggae":
        steps = sorted(rng.choice([2, 3, 4, 6, 7, 10, 11, 12, 14], size=int(rng.integers(4, 7)), replace=False))
        riff = [(int(s), 2, str(rng.choice(["r", "r", "3", "5", "o"]))) for s in steps]
    else:  # walking: decided per bar below
        riff = []
    for bar in range(plan.bars):
        if not on[bar]:
            continue
        if kind == "walking":
            root, tones = chord(bar, 0)
            nxt, _ = chord(bar + 1, 0)
            walk = [0, int(rng.choice(tones[1:])), int(rng.choice(tones[1:] + (2, 5, 9)))]
            pitches = [base + (root - base) % 12 + w for w in walk]
            pitches.append(base + (nxt - base) % 12 + int(rng.choice([-1, 1, -2])))
            for b, p in enumerate(pitches):
                plan.bass.append((grid.time(bar, 4 * b), 0.9 * grid.beat, p, rng.uniform(0.75, 1.0)))
            continue
        for step, length, tone in riff:
            root, tones = chord(bar, step)
            r = base + (root - base) % 12
            iv = {"r": 0, "o": 12, "5": 7, "3": tones[1], "6": 9, "b7": 10}[tone]
            dur = grid.time(bar, step + length) - grid.time(bar, step)
            plan.bass.append((grid.time(bar, step), 0.9 * dur, r + iv, rng.uniform(0.8, 1.0)))


def _voicing(root: int, tones: tuple[int, ...], low: int, rootless: bool = False) -> list[int]:
    r = low + (root - low) % 12
    notes = [r + t for t in tones]
    if rootless and len(notes) > 3:
        notes = notes[1:] + [notes[0] + 12]
    return notes


def _comp(plan: Plan, grid: Grid, rng: np.random.Generator, chord, on: np.ndarray) -> None:
    kind = str(rng.choice(plan.style.comp))
    low = int(rng.integers(50, 58))
    hits: list[tuple[int, int]]  # (step, length in steps) within a bar
    if kind in ("pad", "power_hold"):
        hits = [(0, 16)] if rng.uniform() < 0.6 else [(0, 8), (8, 8)]
    elif kind == "offbeat_stab":
        hits = [(s, 1) for s in (2, 6, 10, 14)]
    elif kind == "skank":
        hits = [(s, 1) for s in ((4, 12) if rng.uniform() < 0.5 else (2, 6, 10, 14))]
    elif kind == "bubble":  # reggae organ shuffle: off-8th pairs of short chops
        hits = [(s, 1) for s in (2, 3, 6, 7, 10, 11, 14, 15)]
    elif kind == "shuffle_stab":
        hits = [(s, 2) for s in ((4, 12) if rng.uniform() < 0.5 else (2, 6, 10, 14))]
    elif kind == "lofi_stab":
        steps = sorted(rng.choice(16, size=int(rng.integers(2, 5)), replace=False))
        hits = [(int(s), int(rng.integers(2, 6))) for s in steps]
    elif kind == "power_chug":
        hits = [(s, 1) for s in range(0, 16, int(rng.choice([1, 2]))) if rng.uniform() < 0.85]
    elif kind == "strum":
        hits = [(s, 2) for s in (0, 4, 6, 10, 12, 14)] if rng.uniform() < 0.5 else [(s, 2) for s in range(0, 16, 2)]
    elif kind == "arp":
        rate = int(rng.choice([1, 2]))
        hits = [(s, rate) for s in range(0, 16, rate)]
    else:  # jazz_comp: decided per bar
        hits = []
    for bar in range(plan.bars):
        if not on[bar]:
            continue
        bar_hits = hits
        if kind == "jazz_comp":
            bar_hits = [(int(s), int(rng.integers(1, 4))) for s in rng.choice(range(0, 16, 2), size=int(rng.integers(1, 4)),
                                                                         replace=False)]
        for i, (step, length) in enumerate(bar_hits):
            root, tones = chord(bar, step)
            t0 = grid.time(bar, step)
            dur = grid.time(bar, step + length) - t0
            voices = _voicing(root, tones, low, rootless=kind == "jazz_comp")
            vel = rng.uniform(0.6, 0.9)
            if kind == "arp":
                seq = voices + [v + 12 for v in voices]
                seq = seq + seq[-2:0:-1]
                plan.comp.append((t0, 1.5 * dur, seq[(bar * len(bar_hits) + i) % len(seq)], vel))
            elif kind == "strum":
                order = voices + [voices[0] + 12] if i % 2 == 0 else [voices[0] + 12] + voices[::-1]
                spread = rng.uniform(0.008, 0.02)
                for j, p in enumerate(order):
                    plan.comp.append((t0 + j * spread, dur, p, vel * (1 if i % 2 == 0 else 0.7)))
            else:
                gate = {"skank": 0.8, "bubble": 0.6, "offbeat_stab": 0.5, "power_chug": 0.5}.get(kind, 0.95)
                for p in (voices if "power" not in kind else [40 + (root - 4) % 12 + t for t in tones]):
                    plan.comp.append((t0, gate * dur, p, vel))


def _lead(plan: Plan, grid: Grid, rng: np.random.Generator, chord, on: np.ndarray) -> None:
    style = plan.style
    scale = np.array(plan.scale)
    center = int(rng.integers(64, 76))
    rap = plan.instruments["lead"] == "rap"
    if rap:
        center = int(rng.integers(50, 60))
    density = rng.uniform(*style.lead_density)  # notes per beat
    moves = [-1, 0, 0, 1] if rap else [-2, -1, -1, 0, 1, 1, 2, 3, -3]
    sub = 2 if density > 2.2 else 1  # 16th or 8th grid
    grid_steps = list(range(0, 32, sub))
    n = max(2, min(len(grid_steps), int(round(density * 8))))

    def motif() -> list[tuple[int, int]]:
        onsets = sorted(rng.choice(grid_steps, size=n, replace=False))
        degrees, d = [], int(rng.integers(-2, 3))
        for _ in onsets:
            d = int(np.clip(d + rng.choice(moves), -7, 9))
            degrees.append(d)
        return list(zip([int(s) for s in onsets], degrees, strict=True))

    motifs = [motif(), motif()]
    form = [0, 0, 1, 0] if rng.uniform() < 0.5 else [0, 1, 0, 1]
    legato = rng.uniform(0.5, 0.95)
    key_root = center - (center - plan.key) % 12
    for bar in range(0, plan.bars, 2):
        if not on[bar]:
            continue
        m = motifs[form[(bar // 2) % 4]]
        for i, (step, deg) in enumerate(m):
            b, s = bar + step // 16, step % 16
            nxt = m[i + 1][0] if i + 1 < len(m) else 32
            octave, idx = divmod(deg, len(scale))
            pitch = key_root + 12 * octave + int(scale[idx])
            if s % 8 == 0:  # strong beats lean on chord tones
                root, tones = chord(b, s)
                pcs = [(root + t) % 12 for t in tones]
                pitch = min((pitch + k for k in range(-2, 3) if (pitch + k) % 12 in pcs), key=lambda p: abs(p - pitch),
                            default=pitch)
            t0 = grid.time(b, s)
            dur = max(0.05, legato * (grid.time(bar, nxt) - t0))
            plan.lead.append((t0, dur, pitch, rng.uniform(0.7, 1.0) * (1.0 if s % 4 == 0 else 0.85)))
