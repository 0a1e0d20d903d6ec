"""What the report folder carries besides index.html: the vega JavaScript and the audio.

- ``vendor/vega-bundle.js``: vega, vega-lite and vega-embed in one classic script, produced by
  vl-convert's ``javascript_bundle`` (the very bundle altair inlines for ``save(inline=True)``),
  so the page needs no network and no CDN.
- ``audio/``: short previews of the corpus tracks (the first ``preview_seconds`` of each, mono,
  OGG Vorbis; 16-bit WAV when this libsndfile cannot write Vorbis) and the analyses' own audio
  (interpolation steps, centroids) transcoded the same way. Every name passes
  ``musiclatent.fileio.safe_name`` and ``inside``, so nothing lands outside the folder.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from musiclatent.corpus.paths import CorpusPathError, corpus_file
from musiclatent.fileio import (
    atomic_path,
    atomic_write_text,
    inside,
    safe_name,
)

VENDOR_JS = "vendor/vega-bundle.js"
DEFAULT_PREVIEW_SECONDS = 10.0


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """vega + vega-lite + vega-embed as one script defining ``vegaEmbed``, ``vega``, ``vegaLite``."""
    import vl_convert as vlc

    try:
        from altair.utils._importers import vl_version_for_vl_convert

        version = vl_version_for_vl_convert()
    except Exception:  # noqa: BLE001 - any altair: fall back to vl-convert's default version
        version = None
    return vlc.javascript_bundle(vl_version=version)


def write_vendor(folder: Path) -> Path:
    """Write the vega bundle into ``folder/vendor/``; returns its path."""
    target = inside(folder, *VENDOR_JS.split("/"))
    atomic_write_text(target, vega_bundle())
    return target


@functools.lru_cache(maxsize=1)
def _can_vorbis() -> bool:
    import soundfile as sf

    return "VORBIS" in sf.available_subtypes("OGG")


class AudioStore:
    """Copies audio into ``folder/audio/<group>/`` once per source, under safe unique names.

    ``add`` returns the path relative to the report folder (for ``src`` attributes), or
    ``None`` when the source cannot be read (the page then says there is no preview).
    """

    def __init__(self, folder: Path, preview_seconds: float = DEFAULT_PREVIEW_SECONDS):
        self.folder = Path(folder)
        self.preview_seconds = preview_seconds
        self.problems: list[str] = []
        self._by_key: dict[tuple[str, str], str | None] = {}
        self._used: set[str] = set()
        self.bytes_written = 0

    def _name(self, group: str, name: str, ext: str) -> str:
        base = safe_name(name, max_len=100)
        rel = f"audio/{safe_name(group)}/{base}{ext}"
        if rel in self._used:  # two names that differ only in unsafe characters
            digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
            rel = f"audio/{safe_name(group)}/{base}-{digest}{ext}"
        self._used.add(rel)
        return rel

    def add(self, source: Path, group: str, name: str, seconds: float | None = None) -> str | None:
        """Transcode the first ``seconds`` (default: all) of ``source`` into the report."""
        key = (group, name)
        if key in self._by_key:
            return self._by_key[key]
        import numpy as np
        import soundfile as sf

        rel: str | None
        try:
            with sf.SoundFile(str(source)) as fh:
                rate = fh.samplerate
                frames = fh.frames if seconds is None else min(fh.frames, int(seconds * rate))
                data = fh.read(frames=frames, dtype="float32", always_2d=True)
            mono = np.nan_to_num(data.mean(axis=1)).clip(-1.0, 1.0)
            if mono.size == 0:
                raise ValueError("no audio")
            vorbis = _can_vorbis() and 8000 <= rate <= 192000
            rel = self._name(group, name, ".ogg" if vorbis else ".wav")
            target = inside(self.folder, *rel.split("/"))
            with atomic_path(target) as tmp:
                if vorbis:
                    sf.write(str(tmp), mono, rate, format="OGG", subtype="VORBIS")
                else:
                    sf.write(str(tmp), mono, rate, format="WAV", subtype="PCM_16")
            self.bytes_written += target.stat().st_size
        except Exception as exc:  # noqa: BLE001 - one unreadable file never stops the report
            self.problems.append(f"{source}: no preview ({type(exc).__name__}: {exc})")
            rel = None
        self._by_key[key] = rel
        return rel

    def track(self, corpus_root: Path | None, track_id: str, path: str | None) -> str | None:
        """The preview of a corpus track (``path`` relative to ``corpus_root``)."""
        key = ("tracks", track_id)
        if key in self._by_key:
            return self._by_key[key]
        if corpus_root is None or not path:
            self._by_key[key] = None
            return None
        try:  # a shared table's path climbing out of the corpus (or a root of /) gets no preview
            source = corpus_file(corpus_root, str(path))
        except CorpusPathError as exc:
            self.problems.append(f"{track_id}: no preview ({exc})")
            self._by_key[key] = None
            return None
        return self.add(source, "tracks", track_id, self.preview_seconds)
