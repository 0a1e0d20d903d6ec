"""The table metadata every encode engine writes: one function, so the engines cannot drift apart."""

from __future__ import annotations

import os
from typing import Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE


def table_metadata(model, ck_meta: dict[str, Any], checkpoint: str | os.PathLike, sha256: str,
                   segment_seconds: float, corpus_root: str | os.PathLike) -> dict[str, Any]:
    """The metadata of a table encoded by ``model`` (loaded from ``checkpoint``, metadata ``ck_meta``).

    ``segment_seconds`` is the requested segment length; the stored ``segment_seconds`` is the
    length of the whole number of samples it becomes at the model's sample rate.
    """
    from musiclatent import __version__
    from musiclatent.corpus.segments import segment_samples

    sample_rate = int(getattr(model, "sample_rate", ck_meta.get("sample_rate", DEFAULT_SAMPLE_RATE)))
    seg_len = segment_samples(segment_seconds, sample_rate)
    meta = {
        "model": ck_meta.get("model_name") or ck_meta["arch"], "arch": ck_meta["arch"],
        "config": ck_meta.get("config", {}), "checkpoint": str(checkpoint), "checkpoint_sha256": sha256,
        "checkpoint_epoch": ck_meta.get("epoch"), "sample_rate": sample_rate, "segment_samples": seg_len,
        "segment_seconds": seg_len / sample_rate,
        "latent_shape": [int(v) for v in model.latent_shape(seg_len)],
        "encoding_scale": float(model.encoding_scale(seg_len)), "corpus_root": str(corpus_root),
        "musiclatent_version": __version__,
    }
    view = getattr(model, "latent_view", None)
    if view:  # only when the model declares one: other tables keep their exact bytes
        meta["latent_view"] = view
    return meta


__all__ = ["table_metadata"]
