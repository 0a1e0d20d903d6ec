"""What an analysis receives (:class:`AnalysisContext`) and returns (:class:`AnalysisResult`).

An analysis is a function ``run(ctx, **options) -> AnalysisResult`` registered through the
``register_analyses`` hook. It computes; the runner (:mod:`musiclatent.analyses.runner`) writes
charts, tables, audio and ``index.json`` so every analysis lands the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.errors import MusiclatentError
from musiclatent.latents.pooling import DEFAULT_POOLING


class AnalysisError(MusiclatentError):
    """An analysis cannot run on this input (the message says what to change)."""


@dataclass
class AnalysisResult:
    """What an analysis produced; the runner writes it.

    - ``summary``: JSON-able scalars (scores, counts, chosen parameters);
    - ``tables``: name -> ``pandas.DataFrame`` (written as CSV, plus Parquet when large);
    - ``charts``: name -> Altair chart (written as HTML, PNG and a Vega-Lite JSON spec);
    - ``audio``: name -> ``(wave[T] float32, sample_rate)`` (written as 16-bit WAV);
    - ``notes``: sentences a person should read (skipped files, clipped options ...).
    """

    summary: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)
    audio: dict[str, tuple[Any, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class AnalysisContext:
    """Everything an analysis may use: the opened latent table and helpers around it.

    ``table`` is a ``musiclatent.latents.table.LatentTable`` (or any object with the same
    reading methods). ``out_dir`` is where the runner will write (information only: the
    analysis must not write files itself).
    """

    table: Any
    pooling: str = DEFAULT_POOLING
    seed: int = 0
    device: str = "auto"
    workspace: Any = None
    corpus_root: Path | None = None
    out_dir: Path | None = None
    notes: list[str] = field(default_factory=list)  # added to the result's notes by the runner
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ table
    @property
    def metadata(self) -> dict[str, Any]:
        """The latent table's file metadata (model, checkpoint sha256, sample rate, ...)."""
        return dict(getattr(self.table, "metadata", {}) or {})

    @property
    def latent_shape(self) -> tuple[int, int]:
        """``(C, T')`` of one segment's latent."""
        return tuple(int(v) for v in self.table.latent_shape)  # type: ignore[return-value]

    @property
    def sample_rate(self) -> int:
        meta = self.metadata
        return int(meta.get("sample_rate") or getattr(self.table, "sample_rate", DEFAULT_SAMPLE_RATE))

    def track_vectors(self):
        """``(X[n_tracks, d] float32, tracks DataFrame)`` pooled with ``self.pooling`` (cached)."""
        key = f"tracks:{self.pooling}"
        if key not in self._cache:
            import numpy as np

            X, tracks = self.table.track_matrix(self.pooling)
            skipped = int(tracks.attrs.get("skipped_nonfinite", 0) or 0)
            if skipped:
                self.notes.append(f"{skipped} tracks with NaN or infinite latents were left out "
                                  "(`musiclatent latents validate` names the file)")
            X = np.asarray(X, dtype=np.float32)
            tracks = tracks.reset_index(drop=True)
            if "label" in tracks:
                tracks["label"] = tracks["label"].astype(object).where(tracks["label"].notna(), None)
            self._cache[key] = (X, tracks)
        return self._cache[key]

    def labels(self):
        """Per-track labels as strings (``"unknown"`` where a track has none)."""
        _, tracks = self.track_vectors()
        return tracks["label"].fillna("unknown").astype(str).to_numpy()

    # ------------------------------------------------------------------ audio
    def resolve_audio(self, relpath: str | os.PathLike) -> Path:
        """The corpus file a table's ``path`` names, resolved inside the corpus root.

        A clear error when the root is unknown; ``musiclatent.corpus.paths.CorpusPathError`` (naming the
        path) when it climbs out of the root (``..``, an absolute path elsewhere) or the root is ``/``.
        """
        from musiclatent.corpus.paths import corpus_file

        if self.corpus_root is None:
            raise AnalysisError(
                "the corpus root is unknown (not in the table metadata nor the workspace); "
                "run `musiclatent corpus scan PATH` or pass a workspace that knows it"
            )
        return corpus_file(self.corpus_root, relpath)

    def read_audio(self, relpath: str | os.PathLike):
        """A corpus track (its ``path``, inside the corpus root) as float32 mono at the table's rate."""
        from musiclatent.corpus.audio import read_audio

        return read_audio(self.resolve_audio(relpath), self.sample_rate)

    # ------------------------------------------------------------------ model
    def load_model(self):
        """The model that made the table (checkpoint from the metadata, sha256 checked; cached)."""
        if "model" not in self._cache:
            from musiclatent.latents.decode import load_table_model

            self._cache["model"] = load_table_model(self.table, device=self.device).eval()
        return self._cache["model"]

    def decode(self, latent):
        """Decode one latent ``[C, T']`` to a float32 wave ``[segment_samples]``
        (``[S, C, T']``: the segments decoded and joined in order)."""
        from musiclatent.latents.decode import decode_latent

        return decode_latent(latent, self.load_model(), latent_shape=self.latent_shape,
                             length=self.segment_samples())

    def segment_samples(self) -> int:
        """Samples per segment the table was encoded with."""
        meta = self.metadata
        for key in ("segment_samples", "segment_length", "segment_len"):
            if meta.get(key):
                return int(meta[key])
        if meta.get("segment_seconds"):
            return int(round(float(meta["segment_seconds"]) * self.sample_rate))
        raise AnalysisError("the latent table does not say its segment length")

    def encode_wave(self, wave):
        """Cut ``wave[T]`` into the table's segments and encode them: ``latents[S, C, T']``."""
        import numpy as np
        import torch

        from musiclatent.corpus.segments import plan_segments, take_segment

        model = self.load_model()
        seg = self.segment_samples()
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        plan = plan_segments(len(wave), seg, sample_rate=self.sample_rate)
        if not plan:
            raise AnalysisError("the audio is empty; nothing to encode")
        segments = [take_segment(wave, s, seg) for s in plan]
        batch = torch.from_numpy(np.stack(segments)[:, None, :])
        param = next(iter(model.parameters()), None)
        if param is not None:
            batch = batch.to(param.device)
        with torch.no_grad():
            latents = model.encode(batch)
        return latents.detach().cpu().numpy().astype(np.float32)

    def encode_file(self, path: str | os.PathLike):
        """Read an audio file the user chose (any path, e.g. ``--query``), encode it like the table
        and pool it: a vector like ``track_vectors``."""
        from musiclatent.corpus.audio import read_audio
        from musiclatent.latents.pooling import pool_track

        wave = read_audio(Path(path).expanduser().resolve(), self.sample_rate)
        return pool_track(self.encode_wave(wave), self.pooling, getattr(self.table, "latent_view", None))


__all__ = ["AnalysisContext", "AnalysisError", "AnalysisResult"]
