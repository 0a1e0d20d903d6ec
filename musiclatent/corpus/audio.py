"""Read, check, resample and write audio with soundfile (libsndfile) and torchaudio's resampler.

Every reader returns float32 mono. Files are opened by their byte path, so names that are not
valid UTF-8 work too. Anything wrong with a file raises :class:`AudioReadError` with a reason a
person can act on; nothing is silently repaired (NaN/Inf samples are an error, not zeroed).
"""

from __future__ import annotations

import errno
import functools
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from musiclatent.corpus.errors import AudioReadError
from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")

# Above this reduced rate ratio torchaudio's kernel becomes huge (e.g. 44101 Hz -> 22050 Hz);
# such odd rates go through scipy's polyphase resampler instead.
_MAX_TORCHAUDIO_RATIO = 2000


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of one file, read without decoding the audio."""

    frames: int
    sample_rate: int
    channels: int
    format: str
    subtype: str
    size: int
    mtime: float

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def _check_file(path: str | bytes | os.PathLike) -> os.stat_result:
    """Stat ``path`` and turn the usual failures into clear reasons."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise AudioReadError(path, "dangling symbolic link (its target does not exist)") from None
        raise AudioReadError(path, "file does not exist") from None
    except PermissionError:
        raise AudioReadError(path, "permission denied; make the file readable") from None
    except OSError as exc:
        raise AudioReadError(path, f"cannot be accessed ({exc.strerror or exc})") from None
    if os.path.isdir(path):
        raise AudioReadError(path, "is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        raise AudioReadError(path, "not a regular file (a FIFO, socket or device); skipped")
    if st.st_size == 0:
        raise AudioReadError(path, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioReadError(path, "permission denied; make the file readable")
    return st


def check_rate(path: str | bytes | os.PathLike, rate: int) -> int:
    """``rate`` if a header may claim it, else :class:`AudioReadError` (bounds the resampling cost)."""
    if not MIN_SAMPLE_RATE <= int(rate) <= MAX_SAMPLE_RATE:
        raise AudioReadError(
            path, f"header claims a sample rate of {int(rate)} Hz, outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz; "
            "the file is damaged or not audio, re-export it")
    return int(rate)


def _libsndfile_reason(exc: Exception) -> str:
    text = str(exc)
    # soundfile prefixes "Error opening '<path>': "; the path is already in our message
    if "': " in text:
        text = text.split("': ", 1)[1]
    if isinstance(exc, OSError) and exc.errno == errno.EACCES:
        return "permission denied; make the file readable"
    return f"not a readable audio file ({text.strip() or type(exc).__name__}); re-encode it as WAV/FLAC or remove it"


def audio_info(path: str | bytes | os.PathLike) -> AudioInfo:
    """Header info (frames, rate, channels, format) of ``path``; raises :class:`AudioReadError`."""
    st = _check_file(path)
    try:
        info = sf.info(os.fsencode(path))
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioReadError(path, _libsndfile_reason(exc)) from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioReadError(path, f"invalid header ({info.samplerate} Hz, {info.channels} channels)")
    if info.frames <= 0:
        raise AudioReadError(path, "zero-length audio (the file holds no samples)")
    check_rate(path, info.samplerate)
    return AudioInfo(
        frames=int(info.frames), sample_rate=int(info.samplerate), channels=int(info.channels),
        format=str(info.format), subtype=str(info.subtype), size=int(st.st_size), mtime=float(st.st_mtime),
    )


def decode(path: str | bytes | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode ``path`` to ``(float32 mono wave, native sample rate)``, checking it is usable."""
    _check_file(path)
    try:
        with sf.SoundFile(os.fsencode(path)) as fh:
            check_rate(path, fh.samplerate)  # before decoding: a hostile header costs nothing
            data, rate = fh.read(dtype="float32", always_2d=True), fh.samplerate
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioReadError(path, _libsndfile_reason(exc)) from None
    if data.shape[0] == 0:
        raise AudioReadError(path, "zero-length audio (the file holds no samples)")
    wave = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    finite = np.isfinite(wave)
    if not finite.all():
        bad = int(wave.size - np.count_nonzero(finite))
        raise AudioReadError(
            path, f"{bad} of {wave.size} samples are NaN or infinite; the file is damaged, re-export it"
        )
    return np.ascontiguousarray(wave, dtype=np.float32), int(rate)


def resampled_length(frames: int, sr_in: int, sr_out: int) -> int:
    """Number of samples :func:`resample` returns for ``frames`` samples at ``sr_in``."""
    if sr_in == sr_out:
        return int(frames)
    return int(math.ceil(frames * sr_out / sr_in))


@functools.lru_cache(maxsize=16)
def _resampler(sr_in: int, sr_out: int):
    import torchaudio

    return torchaudio.transforms.Resample(sr_in, sr_out)


def resample(wave: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample a 1-D float32 wave (band-limited sinc; kernels cached per rate pair)."""
    if sr_in == sr_out:
        return wave
    for rate in (sr_in, sr_out):
        if not MIN_SAMPLE_RATE <= int(rate) <= MAX_SAMPLE_RATE:
            raise ValueError(f"cannot resample from {sr_in} Hz to {sr_out} Hz: rates must be within "
                             f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")
    g = math.gcd(sr_in, sr_out)
    n_out = resampled_length(wave.shape[-1], sr_in, sr_out)
    if max(sr_in, sr_out) // g > _MAX_TORCHAUDIO_RATIO:
        from scipy.signal import resample_poly

        out = resample_poly(wave, sr_out // g, sr_in // g).astype(np.float32)
    else:
        import torch

        with torch.no_grad():
            out = _resampler(sr_in, sr_out)(torch.from_numpy(np.ascontiguousarray(wave))).numpy()
    if out.shape[-1] < n_out:
        out = np.pad(out, (0, n_out - out.shape[-1]))
    return np.ascontiguousarray(out[:n_out], dtype=np.float32)


def read_audio(path: str | bytes | os.PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Read ``path`` as float32 mono at ``sample_rate`` (downmixed by mean, resampled).

    Raises :class:`AudioReadError` for missing, empty, non-audio, damaged or NaN/Inf files.
    """
    wave, rate = decode(path)
    return resample(wave, rate, int(sample_rate))


def write_audio(
    path: str | os.PathLike, wave: np.ndarray, sample_rate: int, subtype: str = "PCM_16"
) -> Path:
    """Write ``wave`` (``[T]`` or ``[T, C]``) as WAV atomically; ``subtype`` PCM_16 or FLOAT.

    PCM_16 clips to [-1, 1] first so loud reconstructions do not wrap around.
    """
    from musiclatent.fileio import atomic_path

    data = np.asarray(wave, dtype=np.float32)
    if data.ndim == 2 and data.shape[0] in (1, 2) and data.shape[1] > data.shape[0]:
        data = data.T  # torch-style [C, T]
    if subtype.upper().startswith("PCM"):
        data = np.clip(np.nan_to_num(data), -1.0, 1.0)
    path = Path(path)
    with atomic_path(path, suffix=".tmp.wav") as tmp:
        sf.write(os.fsencode(tmp), data, int(sample_rate), subtype=subtype, format="WAV")
    return path
