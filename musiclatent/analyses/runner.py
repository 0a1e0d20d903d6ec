"""Run a registered analysis and write its result: charts, tables, audio and ``index.json``.

Output folder layout (``analyses/<name>/`` in the workspace, or ``out_dir``)::

    index.json          what was made, from which table/model/pooling, with which options
    <chart>.html/.png   each chart (offline HTML, PNG) and <chart>.json (its Vega-Lite spec)
    <table>.csv         each table (plus <table>.parquet when it has many rows)
    <audio>.wav         each audio clip, 16-bit PCM

Everything is first written into a temporary sibling folder, then swapped in place of the old
output folder, so a previous complete result is never left half-replaced. Only an empty folder
or one an earlier run wrote (its ``index.json`` says ``"format": "musiclatent-analysis"``) is
replaced; any other non-empty folder is refused before the analysis runs.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from musiclatent import FORMAT_VERSION, __version__
from musiclatent.analyses.base import AnalysisContext, AnalysisError, AnalysisResult
from musiclatent.errors import MusiclatentError
from musiclatent.fileio import (
    atomic_write_json,
    foreign_folder,
    inside,
    safe_name,
    staged_naming,
    swap_folder,
)
from musiclatent.latents.pooling import DEFAULT_POOLING
from musiclatent.locks import held, remove_stale

INDEX_FORMAT = "musiclatent-analysis"
PARQUET_ROWS = 10_000  # tables with more rows are also written as Parquet
CHART_FORMATS = ("html", "png", "svg")


def open_table(table):
    """A ``LatentTable`` from a path (an opened table object is returned as it is)."""
    if isinstance(table, (str, os.PathLike)):
        from musiclatent.latents.table import LatentTable

        return LatentTable.open(table)
    return table


def _table_path(table) -> str:
    path = getattr(table, "path", None)
    return str(path) if path is not None else ""


def _corpus_root(table, workspace) -> Path | None:
    from musiclatent.corpus.paths import CorpusPathError, corpus_root

    meta = dict(getattr(table, "metadata", {}) or {})
    root = meta.get("corpus_root") or meta.get("corpus")
    if root and Path(root).exists():
        try:  # a shared table claiming "/" as its corpus root: every read is refused, saying why
            return corpus_root(root)
        except CorpusPathError:
            pass
    if workspace is not None:
        with contextlib.suppress(Exception):
            return workspace.corpus()
    return Path(root) if root else None


def run_analysis(name: str, *, table, out_dir: str | os.PathLike | None = None, workspace=None,
                 pooling: str = DEFAULT_POOLING, seed: int = 0, device: str = "auto",
                 formats: Iterable[str] = ("html", "png"), **options: Any) -> Path:
    """Run analysis ``name`` on ``table`` (a path or an opened table) and write its outputs.

    Returns the output folder: ``out_dir``, else ``workspace.analysis_dir(name)``, else
    ``./analyses/<name>``. Unknown options are an error naming the known ones.
    """
    from musiclatent.plugins import get_registry

    spec = get_registry().analysis(name)
    return run_spec(spec, table=table, out_dir=out_dir, workspace=workspace, pooling=pooling,
                    seed=seed, device=device, formats=formats, **options)


def run_spec(spec, *, table, out_dir: str | os.PathLike | None = None, workspace=None,
             pooling: str = DEFAULT_POOLING, seed: int = 0, device: str = "auto",
             formats: Iterable[str] = ("html", "png"), **options: Any) -> Path:
    """``run_analysis`` for an ``AnalysisSpec`` object (registered or not)."""
    from musiclatent.latents.pooling import check_pooling

    name = spec.name
    check_pooling(pooling)
    known = {opt.name.replace("-", "_") for opt in spec.options}
    unknown = sorted(set(options) - known)
    if unknown:
        raise AnalysisError(
            f"analysis {name!r} has no option(s) {', '.join(unknown)}; "
            f"its options: {', '.join(sorted(known)) or 'none'}"
        )
    defaults = {opt.name.replace("-", "_"): (tuple(opt.default or ()) if opt.multiple else opt.default)
                for opt in spec.options}
    options = {**defaults, **options}
    for opt in spec.options:
        _check_option(name, opt, options[opt.name.replace("-", "_")])
    formats = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    bad = [f for f in formats if f not in CHART_FORMATS]
    if bad:
        raise AnalysisError(f"unknown chart format(s) {', '.join(bad)}; use {', '.join(CHART_FORMATS)}")

    if out_dir is not None:
        folder = Path(out_dir).expanduser().resolve()
    elif workspace is not None:
        folder = workspace.analysis_dir(name)
    else:
        folder = Path("analyses", safe_name(name)).resolve()
    check_target(folder)  # before the (possibly long) run: a foreign folder is never replaced
    check_device(device)
    opened = open_table(table)
    ctx = AnalysisContext(table=opened, pooling=pooling, seed=int(seed), device=device,
                          workspace=workspace, corpus_root=_corpus_root(opened, workspace),
                          out_dir=folder)
    started = time.time()
    try:
        result = spec.load()(ctx, **options)
    except Exception as exc:
        if _is_user_error(exc):
            raise
        device_problem = _device_problem(exc, device)
        if device_problem:
            raise AnalysisError(f"analysis {name!r}: {device_problem}") from exc
        raise AnalysisError(  # a bug in the analysis: say whose, keep the traceback chained
            f"analysis {name!r} (plugin {spec.plugin}, {spec.distribution or 'unknown distribution'}) failed: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}; "
            "report it to the plugin's authors (other analyses are unaffected)"
        ) from exc
    if not isinstance(result, AnalysisResult):
        raise AnalysisError(f"analysis {name!r} returned {type(result).__name__}, not an AnalysisResult")
    result.notes = [*(n for n in ctx.notes if n not in result.notes), *result.notes]
    info = {
        "format": INDEX_FORMAT,
        "format_version": FORMAT_VERSION,
        "musiclatent_version": __version__,
        "analysis": spec.name,
        "description": spec.description,
        "plugin": spec.plugin,
        "distribution": spec.distribution,
        "table": _table_info(opened),
        "pooling": pooling,
        "seed": int(seed),
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()},
        "seconds": round(time.time() - started, 3),
    }
    return write_result(result, folder, info, formats=formats)


_PYTHON_TYPES = {"int": (numbers.Integral,), "float": (numbers.Real,), "bool": (bool,), "str": (str,), "choice": (str,),
                 "path": (str, os.PathLike)}


def _check_option(name: str, opt, value: Any) -> None:
    """A value of the wrong type, outside the option's choices or bounds is the caller's error."""
    flag = "--" + opt.name.replace("_", "-")
    values = value if opt.multiple else (value,)
    if opt.multiple and not isinstance(value, (tuple, list)):
        raise AnalysisError(f"analysis {name!r}: {flag} takes a list of values, not {value!r}")
    for item in values:
        if item is None and opt.default is None and not opt.multiple:
            continue  # "not given": the analysis picks
        kinds = _PYTHON_TYPES.get(opt.type)
        if kinds and (not isinstance(item, kinds) or (opt.type != "bool" and isinstance(item, bool))):
            raise AnalysisError(f"analysis {name!r}: {flag} must be {'a' if opt.type != 'int' else 'an'} "
                                f"{opt.type}, not {item!r}")
        if opt.type == "choice" and opt.choices and item not in opt.choices:
            raise AnalysisError(f"analysis {name!r}: {flag} {item!r} is not one of {', '.join(opt.choices)}")
        if opt.type == "path" and not Path(item).expanduser().is_file():
            raise AnalysisError(f"analysis {name!r}: {flag} {item}: no such file")
        if opt.type in ("int", "float"):
            if opt.minimum is not None and item < opt.minimum:
                raise AnalysisError(f"analysis {name!r}: {flag} must be at least {opt.minimum:g}, not {item!r}")
            if opt.maximum is not None and item > opt.maximum:
                raise AnalysisError(f"analysis {name!r}: {flag} must be at most {opt.maximum:g}, not {item!r}")


def _is_user_error(exc: Exception) -> bool:
    """Errors whose message already tells the user what to do (missing track, changed checkpoint,
    unreadable audio file ...): any ``MusiclatentError``, an analysis' own included, or an OS error."""
    return isinstance(exc, (MusiclatentError, OSError))


_DEVICE_WORDS = re.compile(r"\b(cuda|cudnn|cublas|mps|hip|xpu|gpu|device|accelerator|out of memory)\b|"
                           r"not compiled with", re.IGNORECASE)


def _device_problem(exc: Exception, device: str) -> str | None:
    """One line when ``exc`` is the compute device failing (missing, unknown, out of memory), or None.

    Torch reports these as ``RuntimeError`` (also ``torch.OutOfMemoryError``, ``AcceleratorError``)
    or, for a torch built without CUDA, ``AssertionError``; their message names the device.
    """
    if device == "cpu" or not isinstance(exc, (RuntimeError, AssertionError, ValueError)):
        return None  # on the cpu, or tensors of one model on two devices: the analysis' own bug
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    special = type(exc).__name__ in ("OutOfMemoryError", "AcceleratorError")
    if not special and (not _DEVICE_WORDS.search(text) or "same device" in text):
        return None
    return (f"the compute device failed (--device {device}): {text}; "
            f"pass --device cpu, or --device auto to use what this machine has ({available_devices()})")


def check_device(device: str) -> None:
    """Refuse an unknown device name, or one this machine does not have, before anything runs."""
    from musiclatent.devices import DeviceError, select_device

    try:
        select_device(device)
    except DeviceError as exc:
        raise AnalysisError(f"{exc}; pass --device cpu or --device auto") from None


def available_devices() -> str:
    """The devices torch can use here, comma-separated (``cpu`` always)."""
    from musiclatent.devices import available_devices as names

    return ", ".join(names())


def _table_info(table) -> dict[str, Any]:
    meta = dict(getattr(table, "metadata", {}) or {})
    keep = ("model", "arch", "checkpoint", "checkpoint_sha256", "sample_rate", "latent_shape",
            "segment_samples", "segment_seconds", "created", "musiclatent_version")
    return {"path": _table_path(table), **{k: meta[k] for k in keep if k in meta}}


def is_analysis_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds an earlier run's output (its ``index.json`` is the runner's)."""
    import json

    try:
        index = json.loads((Path(folder) / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(index, dict) and index.get("format") == INDEX_FORMAT


def check_target(folder: str | os.PathLike) -> None:
    """Refuse an output folder the runner may not replace (a file, or a foreign non-empty folder)."""
    problem = foreign_folder(folder, is_analysis_folder, "the output of a musiclatent analysis")
    if problem:
        raise AnalysisError(problem)


def write_result(result: AnalysisResult, folder: str | os.PathLike, info: dict[str, Any],
                 formats: Iterable[str] = ("html", "png")) -> Path:
    """Write ``result`` into ``folder`` (replaced as a whole) with an ``index.json``; return it.

    ``folder`` must be missing, empty or an earlier analysis output (see :func:`check_target`).
    """
    folder = Path(folder)
    check_target(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(folder.parent, f".{folder.name}.*.tmp")  # staging folders of killed runs
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        with held(staging), staged_naming(folder, staging):  # an error names the output's file, not the staging one
            outputs = _write_outputs(result, staging, tuple(formats))
            index = {
                **info,
                "summary": _jsonable(result.summary),
                "outputs": outputs,
                "notes": [str(n) for n in result.notes],
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            atomic_write_json(staging / "index.json", index)
            swap_folder(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder




def _unique(name: str, used: set[str]) -> str:
    stem = safe_name(name)
    candidate, i = stem, 2
    while candidate.lower() in used:
        candidate, i = f"{stem}_{i}", i + 1
    used.add(candidate.lower())
    return candidate


def _write_outputs(result: AnalysisResult, folder: Path, formats: tuple[str, ...]) -> list[dict]:
    import numpy as np

    from musiclatent.charts import save_chart
    from musiclatent.corpus.audio import write_audio

    outputs: list[dict] = []
    used: set[str] = {"index"}  # chart files (.json) must not collide with index.json
    for name, chart in result.charts.items():
        stem = _unique(name, used)
        chart_formats = tuple(dict.fromkeys((*formats, "json")))
        written = save_chart(chart, folder, stem, formats=chart_formats)
        outputs.append({"kind": "chart", "name": str(name),
                        "files": {fmt: p.relative_to(folder).as_posix() for fmt, p in written.items()}})
    used = set()  # tables (.csv/.parquet) and audio (.wav) cannot collide with charts
    for name, frame in result.tables.items():
        stem = _unique(name, used)
        files = {"csv": _write_table(frame, inside(folder, stem + ".csv"), "csv")}
        if len(frame) > PARQUET_ROWS:
            files["parquet"] = _write_table(frame, inside(folder, stem + ".parquet"), "parquet")
        outputs.append({"kind": "table", "name": str(name), "rows": int(len(frame)),
                        "columns": [str(c) for c in frame.columns],
                        "files": {k: v.relative_to(folder).as_posix() for k, v in files.items()}})
    used = set()
    for name, (wave, rate) in result.audio.items():
        stem = _unique(name, used)
        target = inside(folder, stem + ".wav")
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        write_audio(target, wave, int(rate))
        outputs.append({"kind": "audio", "name": str(name), "sample_rate": int(rate),
                        "seconds": round(len(wave) / int(rate), 3),
                        "files": {"wav": target.relative_to(folder).as_posix()}})
    return outputs


def _write_table(frame, target: Path, fmt: str) -> Path:
    from musiclatent.fileio import atomic_path

    with atomic_path(target) as tmp:
        if fmt == "csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
    return target


def _jsonable(value: Any) -> Any:
    """Numpy scalars/arrays and tuples made JSON-friendly; NaN becomes null."""
    import math

    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


__all__ = ["check_target", "is_analysis_folder", "open_table", "run_analysis", "run_spec", "write_result"]
