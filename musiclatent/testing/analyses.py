"""``check_analysis``: the checks every analysis passes (built-in or third-party): run it on a
table and check that it wrote what it declared, the way the runner promises.

Plugin authors: ``check_analysis("myanalysis")`` in a test makes a tiny labelled corpus, a tiny
codec checkpoint and the table it encodes (so ``needs_model=True`` analyses are checked too);
``check_analysis("myanalysis", table=path)`` checks on your own table (e.g. one from
:func:`musiclatent.testing.write_synthetic_table`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from musiclatent.errors import MusiclatentError
from musiclatent.latents.pooling import DEFAULT_POOLING


class ConformanceError(MusiclatentError, AssertionError):
    """An analysis broke the contract; the message lists every problem found."""


def check_analysis(spec_or_name: Any, workdir: str | os.PathLike | None = None,
                   table: str | os.PathLike | None = None, pooling: str = DEFAULT_POOLING, *,
                   out_dir: str | os.PathLike | None = None, **options: Any) -> dict[str, Any]:
    """Run an analysis (a registered name or an ``AnalysisSpec``) and check its outputs; returns
    the parsed ``index.json``.

    ``table``: the latent table to run on; without it a tiny labelled corpus, a tiny codec
    checkpoint and the table it encodes are made in ``workdir``. Outputs go to ``out_dir``, else
    ``workdir/out/<name>``; with neither ``workdir`` nor ``out_dir`` everything is made in a
    temporary folder, removed afterwards. ``options`` are passed to the analysis.

    Checks: the spec's options all have defaults usable as-is and match ``run``'s parameters
    (:func:`run_problems`); the run returns an
    ``AnalysisResult``; ``index.json`` names the analysis, pooling, options and table; every listed
    output exists, is non-empty and inside the folder; charts have HTML, a Vega-Lite JSON spec and
    a title; tables are readable CSV with their columns; audio is readable WAV at the stated rate.
    Raises :class:`ConformanceError` (an ``AssertionError``) listing every problem.
    """
    from musiclatent.analyses.runner import run_spec
    from musiclatent.registry import AnalysisSpec

    if isinstance(spec_or_name, AnalysisSpec):
        spec = spec_or_name
    else:
        from musiclatent.plugins import get_registry

        spec = get_registry().analysis(str(spec_or_name))
    problems = spec_problems(spec) + run_problems(spec)
    with tempfile.TemporaryDirectory(prefix="musiclatent-conformance-") as tmp:
        work = Path(workdir) if workdir is not None else Path(tmp)
        if table is None:
            from musiclatent.testing.tables import register_tiny_codec, tiny_model_table

            register_tiny_codec()
            table = tiny_model_table(work / "tiny")
        folder = Path(out_dir) if out_dir is not None else work / "out" / spec.name
        try:
            folder = run_spec(spec, table=table, out_dir=folder, pooling=pooling, formats=("html",), **options)
        except Exception as exc:
            if not problems:
                raise
            problems.append(f"running it failed: {exc}")
            raise _failed(spec, problems) from exc
        index = _check_folder(spec, Path(folder), pooling, problems)
    if problems:
        raise _failed(spec, problems)
    return index


def _failed(spec, problems: list[str]) -> ConformanceError:
    return ConformanceError(f"analysis {spec.name!r} ({spec.plugin or 'unregistered'}):\n  - "
                            + "\n  - ".join(problems))


def spec_problems(spec) -> list[str]:
    """What is wrong with an ``AnalysisSpec`` itself (its options and description), one line each."""
    problems: list[str] = []
    for opt in spec.options:
        if not opt.name.replace("-", "_").isidentifier() and opt.name not in ("from", "to"):
            problems.append(f"option {opt.name!r} is not a valid option name")
        if opt.type == "choice" and opt.default is not None and opt.default not in opt.choices:
            problems.append(f"option {opt.name!r}: default {opt.default!r} not among its choices")
        if opt.multiple and opt.default not in (None, ()) and not isinstance(opt.default, (tuple, list)):
            problems.append(f"option {opt.name!r}: multiple=True needs a tuple default")
    if not spec.description:
        problems.append("the spec has no description")
    return problems


def run_problems(spec) -> list[str]:
    """Where the spec's ``run`` disagrees with its options, one line each.

    The runner calls ``run(ctx, **options)`` with every option, each default taken from its
    ``Option``; so each option needs a parameter, each parameter without a default needs an
    option, and a default written in ``run`` too must be the ``Option``'s (better: none, so the
    default is declared once).
    """
    import inspect

    try:
        params = list(inspect.signature(spec.load()).parameters.values())[1:]  # after ctx
    except Exception as exc:  # noqa: BLE001 - an unimportable run is the plugin's problem to see
        return [f"run {spec.run!r} cannot be loaded or inspected: {type(exc).__name__}: {exc}"]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    named = {p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    options = {opt.name.replace("-", "_"): opt for opt in spec.options}
    problems = [f"option {opt.name!r}: run() has no parameter {name!r} to receive it"
                for name, opt in options.items() if name not in named and not takes_any]
    for name, param in named.items():
        opt = options.get(name)
        if opt is None:
            if param.default is param.empty:
                problems.append(f"run() parameter {name!r} is not an option of the spec, so it is never passed")
            continue
        default = tuple(opt.default or ()) if opt.multiple else opt.default
        if param.default is not param.empty and param.default != default:
            problems.append(f"option {opt.name!r}: run() says default {param.default!r} but its Option says "
                            f"{default!r}; declare the default once, in the Option")
    return problems


def _check_folder(spec, folder: Path, pooling: str, problems: list[str]) -> dict[str, Any]:
    index_path = folder / "index.json"
    if not index_path.is_file():
        problems.append("no index.json written")
        return {}
    index = json.loads(index_path.read_text())
    for key, expected in (("analysis", spec.name), ("pooling", pooling)):
        if index.get(key) != expected:
            problems.append(f"index.json {key} is {index.get(key)!r}, expected {expected!r}")
    for key in ("format_version", "options", "summary", "outputs", "table", "created", "notes"):
        if key not in index:
            problems.append(f"index.json lacks {key!r}")
    if not index.get("outputs"):
        problems.append("the analysis produced no outputs (no chart, table or audio)")
    root = folder.resolve()
    for out in index.get("outputs", []):
        for rel in out.get("files", {}).values():
            path = (folder / rel).resolve()
            if root not in path.parents:
                problems.append(f"{out['name']}: {rel} lies outside the output folder")
            elif not path.is_file() or path.stat().st_size == 0:
                problems.append(f"{out['name']}: {rel} missing or empty")
        kind = out.get("kind")
        if kind == "chart":
            _check_chart(folder, out, pooling, problems)
        elif kind == "table":
            _check_table(folder, out, problems)
        elif kind == "audio":
            _check_audio(folder, out, problems)
        else:
            problems.append(f"{out.get('name')}: unknown output kind {kind!r}")
    return index


def _check_chart(folder: Path, out: dict, pooling: str, problems: list[str]) -> None:
    files = out.get("files", {})
    for fmt in ("html", "json"):
        if fmt not in files:
            problems.append(f"chart {out['name']}: no {fmt} file")
    if "json" in files and (folder / files["json"]).is_file():
        spec = json.loads((folder / files["json"]).read_text())
        if not _has_title(spec):
            problems.append(f"chart {out['name']}: no title")
        if pooling not in json.dumps(spec.get("title", "")) and not _mentions(spec, f"pooling: {pooling}"):
            problems.append(f"chart {out['name']}: the title does not state the pooling ({pooling})")


def _has_title(spec: Any) -> bool:
    if isinstance(spec, dict):
        if spec.get("title"):
            return True
        return any(_has_title(v) for k, v in spec.items() if k in ("vconcat", "hconcat", "concat", "layer", "spec"))
    if isinstance(spec, list):
        return any(_has_title(v) for v in spec)
    return False


def _mentions(spec: Any, text: str) -> bool:
    return text in json.dumps(spec)


def _check_table(folder: Path, out: dict, problems: list[str]) -> None:
    import pandas as pd

    csv = out.get("files", {}).get("csv")
    if not csv:
        problems.append(f"table {out['name']}: no CSV")
        return
    try:
        frame = pd.read_csv(folder / csv)
    except Exception as exc:
        problems.append(f"table {out['name']}: unreadable CSV ({exc})")
        return
    if list(frame.columns) != out.get("columns"):
        problems.append(f"table {out['name']}: CSV columns differ from index.json")
    if len(frame) != out.get("rows"):
        problems.append(f"table {out['name']}: {len(frame)} rows but index.json says {out.get('rows')}")


def _check_audio(folder: Path, out: dict, problems: list[str]) -> None:
    import soundfile as sf

    wav = out.get("files", {}).get("wav")
    if not wav:
        problems.append(f"audio {out['name']}: no WAV")
        return
    try:
        info = sf.info(str(folder / wav))
    except Exception as exc:
        problems.append(f"audio {out['name']}: unreadable WAV ({exc})")
        return
    if info.samplerate != out.get("sample_rate"):
        problems.append(f"audio {out['name']}: {info.samplerate} Hz but index.json says {out.get('sample_rate')}")
    if info.frames == 0:
        problems.append(f"audio {out['name']}: empty")


__all__ = ["ConformanceError", "check_analysis", "run_problems", "spec_problems"]
