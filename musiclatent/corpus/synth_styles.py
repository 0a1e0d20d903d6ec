"""The ten genre-like styles of the synthetic corpus and the instrument presets they use.

A :class:`Style` holds ranges and choices; :mod:`musiclatent.corpus.synth_compose` draws one
concrete arrangement from it per track, so tracks of one style differ and styles overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musiclatent.corpus.synth_dsp import Instrument

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "harmonic": (0, 2, 3, 5, 7, 8, 11),
    "blues": (0, 3, 5, 6, 7, 10),
    "pent_major": (0, 2, 4, 7, 9),
    "pent_minor": (0, 3, 5, 7, 10),
}

CHORDS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "pow": (0, 7, 12),
    "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "m7": (0, 3, 7, 10), "m7b5": (0, 3, 6, 10),
    "6": (0, 4, 7, 9), "9": (0, 4, 10, 14), "m9": (0, 3, 10, 14), "sus4": (0, 5, 7),
}

Prog = tuple[tuple[int, str], ...]  # (semitones above the key, chord quality) per chord


def _inst_presets() -> dict[str, Callable[[np.random.Generator], Instrument]]:
    def u(rng: np.random.Generator, lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    return {
        # keys
        "piano": lambda r: Instrument("piano", cap=int(r.choice([16, 24, 32])), decay=u(r, 0.5, 1.2), release=0.25,
                                      attack=0.002, sustain=0.9),
        "epiano": lambda r: Instrument("fm", ratio=1.0, index=u(r, 1.0, 3.0), index_decay=u(r, 0.1, 0.4),
                                       attack=0.003, decay=u(r, 0.4, 1.0), sustain=0.3, release=0.2),
        "organ": lambda r: Instrument("wave", shape="organ", attack=0.01, decay=0.2, sustain=0.9, release=0.06,
                                      vibrato=(u(r, 5, 7), u(r, 0, 12))),
        # strings and pads
        "strings": lambda r: Instrument("wave", shape="saw", cap=int(r.choice([8, 12, 16])), attack=u(r, 0.15, 0.5),
                                        decay=0.5, sustain=0.85, release=u(r, 0.3, 0.8), detune=u(r, 6, 14),
                                        vibrato=(u(r, 4.5, 6), u(r, 8, 20))),
        "pad": lambda r: Instrument("wave", shape=str(r.choice(["saw", "square"])), cap=int(r.choice([6, 8, 12])),
                                    attack=u(r, 0.05, 0.3), decay=0.6, sustain=0.7, release=0.4, detune=u(r, 5, 20)),
        "brass": lambda r: Instrument("fm", ratio=1.0, index=u(r, 2.0, 4.0), index_decay=u(r, 0.1, 0.3),
                                      attack=0.02, decay=0.2, sustain=0.8, release=0.08),
        # guitars
        "nylon": lambda r: Instrument("pluck", brightness=u(r, 0.2, 0.5), pick=u(r, 0.2, 0.4), decay=u(r, 1.0, 2.5),
                                      release=0.15),
        "steel": lambda r: Instrument("pluck", brightness=u(r, 0.6, 0.9), pick=u(r, 0.06, 0.15), decay=u(r, 1.5, 3.0),
                                      release=0.15),
        "twang": lambda r: Instrument("pluck", brightness=u(r, 0.8, 1.0), pick=u(r, 0.03, 0.08), decay=u(r, 1.0, 2.0),
                                      release=0.1),
        "elec": lambda r: Instrument("pluck", brightness=u(r, 0.5, 0.8), pick=u(r, 0.1, 0.25), decay=u(r, 2.0, 4.0),
                                     release=0.1),
        "dist": lambda r: Instrument("wave", shape=str(r.choice(["saw", "square"])), cap=32, attack=0.003,
                                     decay=0.4, sustain=0.8, release=0.05, detune=u(r, 4, 12)),
        # leads
        "square_lead": lambda r: Instrument("wave", shape="square", cap=int(r.choice([12, 24, 48])), attack=0.01,
                                            decay=0.2, sustain=0.6, release=0.1, vibrato=(u(r, 5, 6.5), u(r, 0, 15))),
        "saw_lead": lambda r: Instrument("wave", shape="saw", cap=int(r.choice([16, 32, 64])), attack=0.01, decay=0.3,
                                         sustain=0.7, release=0.1, detune=u(r, 0, 10), vibrato=(5.5, u(r, 0, 15))),
        "flute": lambda r: Instrument("wave", shape="soft", cap=6, attack=u(r, 0.04, 0.1), decay=0.3, sustain=0.85,
                                      release=0.12, vibrato=(u(r, 4.5, 5.5), u(r, 10, 25))),
        "violin": lambda r: Instrument("wave", shape="saw", cap=int(r.choice([12, 20])), attack=u(r, 0.06, 0.15),
                                       decay=0.4, sustain=0.9, release=0.15, vibrato=(u(r, 5, 6.5), u(r, 15, 35))),
        "sax": lambda r: Instrument("wave", shape="reed", cap=24, attack=0.03, decay=0.3, sustain=0.8, release=0.08,
                                    vibrato=(u(r, 4.5, 6), u(r, 10, 30))),
        "bell": lambda r: Instrument("fm", ratio=float(r.choice([2.0, 3.5, 1.4])), index=u(r, 1.5, 4.0),
                                     index_decay=0.5, attack=0.002, decay=u(r, 0.3, 0.9), sustain=0.1, release=0.4),
        "voice": lambda r: Instrument("voice", attack=u(r, 0.02, 0.06), decay=0.3, sustain=0.85, release=0.1,
                                      vibrato=(u(r, 4.5, 6.0), u(r, 15, 40)), extra={"consonants": 0.4}),
        "rap": lambda r: Instrument("voice", attack=0.01, decay=0.1, sustain=0.6, release=0.04,
                                    vibrato=(5.0, u(r, 0, 10)), extra={"consonants": 0.8}),
        # basses
        "finger_bass": lambda r: Instrument("wave", shape="triangle", cap=12, attack=0.005, decay=u(r, 0.2, 0.5),
                                            sustain=0.5, release=0.06),
        "pick_bass": lambda r: Instrument("wave", shape="saw", cap=int(r.choice([6, 10, 16])), attack=0.003,
                                          decay=u(r, 0.15, 0.35), sustain=0.6, release=0.05),
        "upright": lambda r: Instrument("pluck", brightness=u(r, 0.1, 0.3), pick=u(r, 0.2, 0.35),
                                        decay=u(r, 0.8, 1.5), release=0.1),
        "synth_bass": lambda r: Instrument("wave", shape=str(r.choice(["saw", "square"])), cap=int(r.choice([8, 16])),
                                           attack=0.004, decay=u(r, 0.1, 0.3), sustain=0.5, release=0.05),
        "fm_bass": lambda r: Instrument("fm", ratio=1.0, index=u(r, 1.0, 2.5), index_decay=0.08, attack=0.003,
                                        decay=0.25, sustain=0.6, release=0.05),
        "sub": lambda r: Instrument("sub", attack=0.003, decay=u(r, 0.3, 0.8), sustain=0.4, release=0.1),
        "cello": lambda r: Instrument("wave", shape="saw", cap=10, attack=u(r, 0.1, 0.3), decay=0.5, sustain=0.85,
                                      release=0.3, vibrato=(5.0, u(r, 5, 15))),
    }


INSTRUMENTS = _inst_presets()


@dataclass(frozen=True)
class Style:
    """Ranges and choices from which one track of a genre is drawn."""

    tempo: tuple[float, float]
    swing8: tuple[float, float]
    swing16: tuple[float, float]
    scales: tuple[str, ...]
    progressions: tuple[Prog, ...]
    chord_bars: tuple[float, ...]
    drums: tuple[str, ...]  # drum pattern names, empty: no drums
    kit: str
    bass: tuple[str, ...]  # bass line styles
    bass_inst: tuple[str, ...]
    comp: tuple[str, ...]  # chord part styles
    comp_inst: tuple[str, ...]
    lead_inst: tuple[str, ...]
    lead_density: tuple[float, float]  # melody notes per beat
    lead_prob: float  # chance a phrase has a melody
    comp_drive: tuple[float, float] = (0.0, 0.0)
    bass_drive: tuple[float, float] = (0.0, 0.0)
    reverb: tuple[float, float] = (0.05, 0.2)
    reverb_time: tuple[float, float] = (0.4, 1.2)
    cutoff: tuple[float, float] = (6000, 10000)
    tilt: tuple[float, float] = (-1.0, 0.5)
    noise_db: tuple[float, float] = (-60, -45)
    levels: tuple[float, float, float, float] = (0, -3, -6, -4)  # drums, bass, comp, lead (dB)
    crackle: bool = False


MAJOR_POP: tuple[Prog, ...] = (
    ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),
    ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj")),
    ((0, "maj"), (5, "maj"), (9, "min"), (7, "maj")),
    ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")),
)
BLUES_12: tuple[Prog, ...] = (
    tuple((d, "7") for d in (0, 0, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7)),
    tuple((d, "7") for d in (0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7)),
)

STYLES: dict[str, Style] = {
    "blues": Style(
        tempo=(70, 115), swing8=(0.8, 1.0), swing16=(0.0, 0.0), scales=("blues", "pent_minor", "mixolydian"),
        progressions=BLUES_12, chord_bars=(1,), drums=("shuffle",), kit="acoustic",
        bass=("boogie", "walking"), bass_inst=("finger_bass", "upright", "pick_bass"),
        comp=("shuffle_stab", "pad"), comp_inst=("organ", "piano", "elec"), lead_inst=("elec", "sax", "voice", "voice"),
        lead_density=(0.8, 2.0), lead_prob=0.7, comp_drive=(0, 3), reverb=(0.1, 0.3), cutoff=(5000, 8000)),
    "classical": Style(
        tempo=(60, 110), swing8=(0, 0), swing16=(0, 0), scales=("major", "harmonic"),
        progressions=(((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")),
                      ((0, "maj"), (9, "min"), (2, "min"), (7, "7")),
                      ((0, "maj"), (7, "maj"), (9, "min"), (4, "min"), (5, "maj"), (0, "maj"), (5, "maj"), (7, "maj")),
                      ((0, "min"), (5, "min"), (7, "7"), (0, "min"))),
        chord_bars=(1, 2), drums=(), kit="none", bass=("long",), bass_inst=("cello",),
        comp=("pad", "arp"), comp_inst=("strings", "piano", "nylon"), lead_inst=("violin", "flute", "piano"),
        lead_density=(0.5, 2.0), lead_prob=0.8, reverb=(0.25, 0.5), reverb_time=(1.2, 2.5), cutoff=(4000, 8000),
        tilt=(-2.0, -0.5), levels=(-99, -6, -3, -3)),
    "country": Style(
        tempo=(95, 145), swing8=(0, 0.3), swing16=(0, 0), scales=("major", "pent_major", "mixolydian"),
        progressions=(((0, "maj"), (5, "maj"), (0, "maj"), (7, "maj")),
                      ((0, "maj"), (0, "maj"), (5, "maj"), (5, "maj"), (7, "maj"), (7, "maj"), (0, "maj"), (0, "maj")),
                      ((0, "maj"), (7, "maj"), (5, "maj"), (0, "maj"))),
        chord_bars=(1, 2), drums=("train", "rock_basic"), kit="brush", bass=("root_fifth",),
        bass_inst=("finger_bass", "upright"), comp=("strum",), comp_inst=("steel", "nylon"),
        lead_inst=("twang", "violin", "voice", "voice"), lead_density=(1.0, 3.0), lead_prob=0.75, cutoff=(6000, 9500)),
    "disco": Style(
        tempo=(110, 130), swing8=(0, 0), swing16=(0, 0.15), scales=("dorian", "minor", "major"),
        progressions=(((0, "m7"), (5, "m7")), ((2, "m7"), (7, "7")), ((0, "min"), (10, "maj"), (8, "maj"), (10, "maj")),
                      ((0, "maj7"), (2, "m7"))),
        chord_bars=(1, 2), drums=("four_floor",), kit="disco", bass=("octave",),
        bass_inst=("synth_bass", "pick_bass", "fm_bass"), comp=("offbeat_stab", "pad"),
        comp_inst=("strings", "epiano", "elec", "brass"), lead_inst=("strings", "saw_lead", "voice", "voice", "brass"),
        lead_density=(1.0, 2.5), lead_prob=0.6, reverb=(0.1, 0.25), cutoff=(8000, 11000), tilt=(-0.5, 1.0),
        levels=(0, -2, -6, -5)),
    "hiphop": Style(
        tempo=(80, 100), swing8=(0, 0), swing16=(0.35, 0.7), scales=("minor", "dorian", "pent_minor"),
        progressions=(((0, "m7"), (5, "m7")), ((0, "min"), (8, "maj")), ((2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")),
                      ((0, "m9"), (0, "m9"), (3, "maj7"), (3, "maj7"))),
        chord_bars=(1, 2), drums=("boombap",), kit="808", bass=("sub_hits",), bass_inst=("sub",),
        comp=("lofi_stab", "pad"), comp_inst=("epiano", "piano", "pad"), lead_inst=("rap", "rap", "rap", "bell", "flute"),
        lead_density=(2.0, 4.0), lead_prob=0.75, reverb=(0.05, 0.15), cutoff=(3500, 7000), tilt=(-1.5, 0.0),
        noise_db=(-50, -38), levels=(0, -4, -8, -5), crackle=True),
    "jazz": Style(
        tempo=(100, 210), swing8=(0.6, 1.0), swing16=(0, 0), scales=("dorian", "mixolydian", "major"),
        progressions=(((2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")),
                      ((0, "6"), (9, "m7"), (2, "m7"), (7, "7")),
                      ((4, "m7"), (9, "7"), (2, "m7"), (7, "7")),
                      ((2, "m7b5"), (7, "7"), (0, "m7"), (0, "m7"))),
        chord_bars=(1, 0.5), drums=("jazz_ride",), kit="jazz", bass=("walking",), bass_inst=("upright",),
        comp=("jazz_comp",), comp_inst=("piano", "epiano", "elec"), lead_inst=("sax", "brass", "piano", "flute"),
        lead_density=(1.5, 3.0), lead_prob=0.8, reverb=(0.1, 0.25), cutoff=(4500, 8000), tilt=(-1.5, -0.3),
        levels=(-3, -4, -6, -3)),
    "metal": Style(
        tempo=(140, 200), swing8=(0, 0), swing16=(0, 0), scales=("phrygian", "minor", "harmonic"),
        progressions=(((0, "pow"), (8, "pow"), (10, "pow"), (0, "pow")), ((0, "pow"), (1, "pow"), (0, "pow"), (10, "pow")),
                      ((0, "pow"), (5, "pow"), (8, "pow"), (10, "pow"))),
        chord_bars=(1, 0.5), drums=("double_kick", "blast"), kit="metal", bass=("chug",), bass_inst=("pick_bass",),
        comp=("power_chug", "power_hold"), comp_inst=("dist",), lead_inst=("saw_lead", "dist", "voice"),
        lead_density=(2.0, 4.0), lead_prob=0.4, comp_drive=(12, 30), bass_drive=(2, 6), reverb=(0.03, 0.12),
        cutoff=(6000, 10000), tilt=(0.0, 1.5), noise_db=(-55, -40), levels=(0, -4, -1, -5)),
    "pop": Style(
        tempo=(90, 130), swing8=(0, 0.1), swing16=(0, 0.2), scales=("major", "pent_major"),
        progressions=MAJOR_POP, chord_bars=(1, 2), drums=("pop", "four_floor"), kit="pop",
        bass=("root8", "octave"), bass_inst=("synth_bass", "finger_bass", "fm_bass"), comp=("pad", "arp", "strum"),
        comp_inst=("pad", "piano", "nylon", "epiano"), lead_inst=("voice", "voice", "square_lead", "saw_lead", "bell"),
        lead_density=(1.0, 2.5), lead_prob=0.85, cutoff=(7000, 10500), tilt=(-0.5, 1.0)),
    "reggae": Style(
        tempo=(65, 90), swing8=(0.1, 0.4), swing16=(0.1, 0.3), scales=("major", "minor", "dorian"),
        progressions=(((0, "maj"), (5, "maj")), ((0, "min"), (5, "min")), ((0, "maj"), (2, "min")),
                      ((0, "maj"), (5, "maj"), (7, "maj"), (5, "maj"))),
        chord_bars=(1, 2), drums=("one_drop", "steppers"), kit="reggae", bass=("reggae",),
        bass_inst=("finger_bass", "sub", "synth_bass"), comp=("skank", "skank", "bubble"), comp_inst=("organ", "elec", "epiano"),
        lead_inst=("voice", "voice", "flute", "organ", "brass"), lead_density=(0.5, 1.5), lead_prob=0.5, reverb=(0.15, 0.35),
        cutoff=(4500, 8000), tilt=(-1.5, 0.0), levels=(-2, 0, -6, -7)),
    "rock": Style(
        tempo=(100, 150), swing8=(0, 0.1), swing16=(0, 0), scales=("mixolydian", "major", "pent_minor"),
        progressions=(((0, "pow"), (10, "pow"), (5, "pow"), (0, "pow")), ((0, "maj"), (5, "maj"), (7, "maj"), (5, "maj")),
                      ((0, "maj"), (7, "maj"), (5, "maj"), (5, "maj")), ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj"))),
        chord_bars=(1,), drums=("rock_basic", "pop"), kit="rock", bass=("root8",), bass_inst=("pick_bass", "finger_bass"),
        comp=("power_hold", "strum", "power_chug"), comp_inst=("dist", "elec"), lead_inst=("voice", "voice", "saw_lead", "elec", "dist"),
        lead_density=(1.0, 2.5), lead_prob=0.6, comp_drive=(3, 10), bass_drive=(0, 2), reverb=(0.08, 0.2),
        cutoff=(6000, 10000), tilt=(-0.5, 1.0), levels=(0, -3, -3, -5)),
}
