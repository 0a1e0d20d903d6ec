"""Sound sources for the synthetic corpus: oscillators, plucked strings, drum hits, effects.

Everything here is numpy only and vectorised over samples; Python loops run over notes or
blocks, never over samples. Notes are rendered one at a time by :func:`render_note` from an
:class:`Instrument` (a small bag of timbre parameters); drum hits by :func:`drum_kit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

TABLE = 2048
_HARMONIC_STEPS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


def midi_hz(midi: float) -> float:
    """Frequency in Hz of a (fractional) MIDI note number."""
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _cycle(amps: np.ndarray) -> np.ndarray:
    """``sum_k amps[k-1] * sin(2 pi k phase)`` over one cycle of TABLE samples (+ wrap), unit peak."""
    spec = np.zeros(TABLE // 2 + 1, dtype=complex)
    spec[1:amps.size + 1] = -0.5j * TABLE * amps
    wave = np.fft.irfft(spec, TABLE)
    wave = np.append(wave, wave[0])
    return wave / max(np.abs(wave).max(), 1e-9)


@lru_cache(maxsize=256)
def _table(shape: str, nharm: int) -> np.ndarray:
    """One band-limited cycle of ``shape`` with ``nharm`` harmonics (plus a wrap sample)."""
    k = np.arange(1, nharm + 1, dtype=np.float64)
    if shape == "sine":
        amps = (k == 1).astype(float)
    elif shape == "saw":
        amps = 1.0 / k
    elif shape == "square":
        amps = np.where(k % 2 == 1, 1.0 / k, 0.0)
    elif shape == "triangle":
        amps = np.where(k % 2 == 1, (-1.0) ** ((k - 1) // 2) / k**2, 0.0)
    elif shape == "organ":  # drawbars 16' 8' 5 1/3' 4' 2' : harmonics 1, 2, 3, 4, 8 (+ a little 6)
        amps = np.select([k == 1, k == 2, k == 3, k == 4, k == 6, k == 8], [1, 0.8, 0.6, 0.5, 0.2, 0.3], 0.0)
    elif shape == "reed":  # sax/clarinet-ish: strong odd partials, a formant bump near the 4th-6th
        amps = (np.where(k % 2 == 1, 1.0, 0.55) / k**0.9) * (1 + 1.5 * np.exp(-((k - 5) ** 2) / 6))
    elif shape == "soft":  # flute/voice-ish: few decaying harmonics
        amps = 0.6 ** (k - 1)
    else:
        raise ValueError(f"unknown wave shape {shape!r}")
    return _cycle(amps)


FORMANTS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "a": ((730, 1090, 2440), (1.0, 0.5, 0.25)), "e": ((530, 1840, 2480), (1.0, 0.45, 0.3)),
    "i": ((300, 2290, 3010), (1.0, 0.3, 0.25)), "o": ((570, 840, 2410), (1.0, 0.6, 0.15)),
    "u": ((320, 870, 2240), (1.0, 0.35, 0.1)),
}


@lru_cache(maxsize=2048)
def _voice_table(midi: int, vowel: str, sr: int) -> np.ndarray:
    """One cycle of a sung vowel: harmonics of the note weighted by three formant resonances."""
    f0 = midi_hz(midi)
    k = np.arange(1, max(2, min(64, int(0.45 * sr / f0))) + 1, dtype=np.float64)
    fk = k * f0
    freqs, gains = FORMANTS[vowel]
    res = sum(g / (1 + ((fk - f) / (60 + 0.06 * f)) ** 2) for f, g in zip(freqs, gains, strict=True))
    amps = (0.08 + res) / k**0.7
    return _cycle(amps)


def _nharm(freq: float, sr: int, cap: int) -> int:
    limit = min(cap, int(0.45 * sr / max(freq, 1.0)))
    return max([h for h in _HARMONIC_STEPS if h <= max(limit, 1)])


def wavetable(shape: str, phase: np.ndarray, freq: float, sr: int, cap: int = 64) -> np.ndarray:
    """Read the band-limited table of ``shape`` at ``phase`` (in cycles), linearly interpolated."""
    table = _table(shape, _nharm(freq, sr, cap))
    idx = (phase % 1.0) * TABLE
    i = idx.astype(np.int64)
    frac = idx - i
    return table[i] * (1.0 - frac) + table[i + 1] * frac


def adsr(n: int, sr: int, a: float, d: float, s: float, r: float, hold: float) -> np.ndarray:
    """Attack-decay-sustain-release envelope of ``n`` samples; release starts at ``hold`` seconds."""
    t = np.arange(n) / sr
    a = max(a, 1e-3)
    hold = max(hold, a)
    sus_at_hold = s + (1 - s) * np.exp(-max(hold - a, 0) / max(d, 1e-3))
    env = np.where(t < a, t / a, s + (1 - s) * np.exp(-(t - a) / max(d, 1e-3)))
    rel = sus_at_hold * np.exp(-(t - hold) / max(r, 1e-3) * 3)
    return np.where(t < hold, env, rel)


@dataclass(frozen=True)
class Instrument:
    """Timbre parameters of one melodic/harmonic instrument.

    ``kind`` is ``wave`` (wavetable, optional detune/vibrato), ``fm`` (two-operator FM),
    ``pluck`` (vectorised Karplus-Strong), ``piano`` (bright/dark partials crossfade) or ``sub``
    (sine with a pitch drop, 808-style).
    """

    kind: str
    shape: str = "saw"
    cap: int = 64  # most harmonics (darker when small)
    attack: float = 0.005
    decay: float = 0.3
    sustain: float = 0.7
    release: float = 0.1
    detune: float = 0.0  # cents between two voices (0: one voice)
    vibrato: tuple[float, float] = (0.0, 0.0)  # rate Hz, depth cents
    ratio: float = 1.0  # FM modulator ratio
    index: float = 2.0  # FM index at the attack
    index_decay: float = 0.3  # seconds
    brightness: float = 0.5  # pluck: 0 dark .. 1 bright
    pick: float = 0.2  # pluck position (0..0.5), twang when small
    extra: dict = field(default_factory=dict, compare=False)


def _pluck(freq: float, n: int, sr: int, rng: np.random.Generator, inst: Instrument) -> np.ndarray:
    """Karplus-Strong string, vectorised over periods.

    The string of period ``L`` evolves as ``block_k = A^k block_0`` where ``A`` is the circulant
    loss filter ``0.5 * (1 + z^-1)``; ``A`` is diagonal in the DFT of length ``L``, so all blocks
    come from one batched inverse FFT. The integer period is corrected to the exact pitch by
    resampling.
    """
    period = sr / freq
    L = max(4, int(np.ceil(period)))
    ratio = L / period
    m = int(np.ceil(n * ratio)) + 2
    nb = -(-m // L)
    x0 = rng.uniform(-1, 1, L)
    p = max(1, int(round(inst.pick * L)))
    x0 = x0 - np.roll(x0, p)  # pick-position comb: small pick -> nasal twang
    spec = np.fft.rfft(x0 - x0.mean())
    j = np.arange(spec.size)
    per_period = 10.0 ** (-3.0 / (max(inst.decay, 0.05) * freq))  # fundamental -60 dB after decay s
    loss = np.abs(np.cos(np.pi * j / L)) ** (0.15 + 1.5 * (1 - inst.brightness))
    lam = np.clip(per_period * loss, 1e-12, 1.0)
    k = np.arange(nb)[:, None]
    blocks = np.fft.irfft(spec[None, :] * np.exp(k * np.log(lam)[None, :]), n=L, axis=1)
    y = blocks.ravel()
    return np.interp(np.arange(n) * ratio, np.arange(y.size), y)


def render_note(inst: Instrument, midi: float, dur: float, vel: float, sr: int,
                rng: np.random.Generator) -> np.ndarray:
    """One note (``dur`` seconds held, plus its release tail), float64, peak about ``vel``."""
    freq = midi_hz(midi)
    tail = inst.release if inst.kind != "pluck" else min(inst.release, 0.3)
    n = max(8, int((dur + tail) * sr))
    t = np.arange(n) / sr
    if inst.kind == "pluck":
        y = _pluck(freq, n, sr, rng, inst)
        y /= max(np.abs(y[: min(n, 2048)]).max(), 1e-9)
        env = np.where(t < dur, 1.0, np.exp(-(t - dur) / max(tail / 3, 1e-3)))
        env[: int(0.002 * sr)] *= np.linspace(0, 1, int(0.002 * sr))
        return vel * y * env
    env = adsr(n, sr, inst.attack, inst.decay, inst.sustain, inst.release, dur)
    rate, depth = inst.vibrato
    if depth > 0:
        ramp = np.clip(t / 0.3, 0, 1)
        cents = depth * ramp * np.sin(2 * np.pi * rate * t + rng.uniform(0, 6.28))
        phase = np.cumsum(freq * 2 ** (cents / 1200)) / sr
    else:
        phase = freq * t
    phase = phase + rng.uniform()
    if inst.kind == "wave":
        y = wavetable(inst.shape, phase, freq, sr, inst.cap)
        if inst.detune > 0:
            y = 0.5 * (y + wavetable(inst.shape, phase * 2 ** (inst.detune / 1200) + 0.37, freq, sr, inst.cap))
    elif inst.kind == "fm":
        index = inst.index * (0.25 + 0.75 * np.exp(-t / max(inst.index_decay, 1e-3)))
        y = np.sin(2 * np.pi * phase + index * np.sin(2 * np.pi * inst.ratio * phase))
    elif inst.kind == "piano":
        bright = wavetable("saw", phase, freq, sr, inst.cap)
        dark = wavetable("soft", phase, freq, sr, 8)
        mix = np.exp(-t / max(inst.decay * 0.25, 1e-3))
        y = bright * mix + dark * (1 - mix)
        env = env * np.exp(-t / max(inst.decay * 3, 1e-3))
    elif inst.kind == "voice":
        table = _voice_table(int(round(midi)), str(rng.choice(list(FORMANTS))), sr)
        idx = (phase % 1.0) * TABLE
        i = idx.astype(np.int64)
        y = table[i] + (idx - i) * (table[i + 1] - table[i])
        if rng.uniform() < inst.extra.get("consonants", 0.4):  # a consonant: short noise burst
            m = min(n, int(rng.uniform(0.015, 0.04) * sr))
            y[:m] += 0.6 * band_noise(rng, m, sr, 2500, 8000) * np.linspace(1, 0, m)
    elif inst.kind == "sub":
        drop = 1 + 0.6 * np.exp(-t / 0.03)
        y = np.sin(2 * np.pi * np.cumsum(freq * drop) / sr)
    else:
        raise ValueError(f"unknown instrument kind {inst.kind!r}")
    return vel * y * env


def place(bus: np.ndarray, start_s: float, y: np.ndarray, sr: int) -> None:
    """Add ``y`` into ``bus`` starting at ``start_s`` seconds (clipped at both ends)."""
    i = int(round(start_s * sr))
    if i >= bus.size or i + y.size <= 0:
        return
    if i < 0:
        y, i = y[-i:], 0
    k = min(y.size, bus.size - i)
    bus[i:i + k] += y[:k]


def band_noise(rng: np.random.Generator, n: int, sr: int, lo: float, hi: float) -> np.ndarray:
    """White noise band-limited to ``lo..hi`` Hz (soft edges), unit peak."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    gain = 1 / (1 + (lo / np.maximum(f, 1)) ** 4) / (1 + (f / hi) ** 4)
    y = np.fft.irfft(spec * gain, n=n)
    return y / max(np.abs(y).max(), 1e-9)


def fast_len(n: int) -> int:
    """The smallest ``2^a 3^b 5^c >= n`` (FFT sizes that pocketfft handles quickly)."""
    best = 1 << int(np.ceil(np.log2(max(n, 1))))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def eq_bus(x: np.ndarray, sr: int, lo: float, hi: float, peak_hz: float = 0.0, peak_db: float = 0.0) -> np.ndarray:
    """Band-pass ``x`` to ``lo..hi`` Hz (2nd-order-like slopes) with an optional broad boost."""
    n_fft = fast_len(x.size)
    spec = np.fft.rfft(x, n_fft)
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    gain = 1 / np.sqrt(1 + (lo / np.maximum(f, 1)) ** 4) / np.sqrt(1 + (f / hi) ** 4)
    if peak_db:
        gain = gain * 10 ** (peak_db / 20 * np.exp(-np.log2(np.maximum(f, 1) / peak_hz) ** 2))
    return np.fft.irfft(spec * gain, n_fft)[: x.size]


def smooth(x: np.ndarray, k: int) -> np.ndarray:
    """Moving average over ``k`` samples (a cheap lowpass), same length."""
    if k <= 1:
        return x
    c = np.cumsum(np.concatenate([np.zeros(k), x]))
    return (c[k:] - c[:-k]) / k


def drive(x: np.ndarray, amount: float) -> np.ndarray:
    """Soft-clipping distortion (``amount`` 0 = clean, 20+ = metal), level kept."""
    if amount <= 0:
        return x
    peak = max(np.abs(x).max(), 1e-9)
    return np.tanh(amount * x / peak) / np.tanh(amount) * peak


def drum_kit(kind: str, sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Synthesised one-shot drum samples for one track; ``kind`` flavours them (808, rock, jazz...)."""
    u = rng.uniform

    def t_of(sec: float) -> np.ndarray:
        return np.arange(int(sec * sr)) / sr

    kit: dict[str, np.ndarray] = {}
    # kick: pitch-swept sine with decay, plus a click
    t = t_of(0.5 if kind == "808" else 0.35)
    f0, f1 = u(45, 65), u(110, 220)
    sweep = f0 + (f1 - f0) * np.exp(-t / u(0.02, 0.05))
    body = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * np.exp(-t / (u(0.25, 0.45) if kind == "808" else u(0.08, 0.18)))
    click = band_noise(rng, t.size, sr, 1000, 6000) * np.exp(-t / 0.004) * (0.6 if kind == "metal" else 0.25)
    kit["kick"] = body + click
    # snare: noise burst + body tone
    t = t_of(0.3)
    tone = np.sin(2 * np.pi * u(170, 240) * t) * np.exp(-t / u(0.03, 0.07))
    noise = band_noise(rng, t.size, sr, u(1500, 3000), u(7000, 10000)) * np.exp(-t / u(0.05, 0.12))
    kit["snare"] = 0.6 * tone + (0.9 if kind != "jazz" else 0.5) * noise
    kit["brush"] = band_noise(rng, t.size, sr, 2000, 9000) * np.exp(-t / u(0.04, 0.09)) * 0.6
    kit["rim"] = np.sin(2 * np.pi * u(450, 700) * t) * np.exp(-t / 0.012) + 0.3 * band_noise(
        rng, t.size, sr, 2000, 8000) * np.exp(-t / 0.006)
    # clap: a few staggered noise bursts
    t = t_of(0.25)
    env = sum(np.exp(-np.maximum(t - d, 0) / 0.008) * (t >= d) for d in (0, 0.011, 0.023))
    env = env + 0.5 * (t >= 0.03) * np.exp(-np.maximum(t - 0.03, 0) / 0.06)
    kit["clap"] = band_noise(rng, t.size, sr, 900, 5000) * env
    # hats: high-passed noise (plus inharmonic squares for metal) ticks
    t = t_of(0.6)
    metallic = sum(np.sign(np.sin(2 * np.pi * f * t + u(0, 6))) for f in (205, 304, 369, 522, 540, 800))
    hat_src = band_noise(rng, t.size, sr, u(5000, 7000), 11000) + 0.15 * metallic / 6
    hat_src = hat_src - smooth(hat_src, 6)
    kit["hat"] = hat_src * np.exp(-t / u(0.015, 0.04))
    kit["openhat"] = hat_src * np.exp(-t / u(0.12, 0.25))
    t = t_of(1.2)
    ride_src = band_noise(rng, t.size, sr, 3000, 10000) + 0.3 * np.sin(2 * np.pi * u(2500, 3500) * t)
    kit["ride"] = ride_src * np.exp(-t / u(0.25, 0.5)) * 0.6
    kit["crash"] = band_noise(rng, t.size, sr, 2500, 11000) * np.exp(-t / u(0.4, 0.8))
    # toms: higher pitch sweeps for fills
    t = t_of(0.3)
    kit["tom"] = np.sin(2 * np.pi * np.cumsum(u(90, 160) * (1 + 0.5 * np.exp(-t / 0.02))) / sr) * np.exp(-t / 0.12)
    return kit


def master_fx(x: np.ndarray, sr: int, rng: np.random.Generator, wet: float, rt: float,
              cutoff: float, tilt_db: float) -> np.ndarray:
    """Reverb-ish smearing (decaying-noise impulse response) and tone EQ in one FFT pass."""
    n_ir = int(min(rt, 2.5) * sr)
    n_fft = fast_len(x.size + n_ir)
    t = np.arange(n_ir) / sr
    ir = rng.standard_normal(n_ir) * np.exp(-t * 6.9 / max(rt, 0.05))
    ir = smooth(ir, 3)  # a little darker than the dry path
    ir *= wet / max(np.sqrt(np.sum(ir**2)), 1e-9)
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    eq = 10 ** (tilt_db * np.log2(np.maximum(f, 30) / 1000) / 20) / np.sqrt(1 + (f / cutoff) ** 4)
    eq /= 1 + (30 / np.maximum(f, 1)) ** 4  # remove DC/rumble
    spec = np.fft.rfft(x, n_fft) * (1 + np.fft.rfft(ir, n_fft)) * eq
    return np.fft.irfft(spec, n_fft)[: x.size]
