"""Every analysis option default is declared once, in its ``Option``: the built-ins' ``run`` functions
have none, and ``check_analysis`` catches a ``run`` whose default disagrees with its spec."""

from __future__ import annotations

import inspect

import pytest

from musiclatent.registry import AnalysisSpec, Option
from musiclatent.testing import ConformanceError, check_analysis, write_synthetic_table
from musiclatent.testing.analyses import run_problems


def _builtin_specs():
    from musiclatent.plugins import collect, get_plugin_manager, reset

    reset()
    specs = [s for s in collect(get_plugin_manager(entry_points=False)).analyses.values()
             if s.plugin == "musiclatent.default_plugins.analyses"]
    reset()
    return specs


BUILTINS = _builtin_specs()


def test_the_builtins_are_all_here():
    assert {s.name for s in BUILTINS} >= {"pca", "umap", "cluster", "neighbors", "interpolate", "probe",
                                           "views", "dims"}


@pytest.mark.parametrize("spec", BUILTINS, ids=lambda s: s.name)
def test_builtin_defaults_are_declared_only_in_the_option(spec):
    params = list(inspect.signature(spec.load()).parameters.values())[1:]
    written_twice = [p.name for p in params if p.default is not p.empty]
    assert not written_twice, f"{spec.name}: run() repeats the default of {written_twice}; keep it in the Option"
    assert run_problems(spec) == []


def _sum_k(ctx, *, k=5):  # the default disagrees with the spec's Option(default=3)
    import pandas as pd

    from musiclatent.analyses import AnalysisResult

    X, _ = ctx.track_vectors()
    return AnalysisResult(summary={"k": k}, tables={"sums": pd.DataFrame({"sum": X.sum(axis=1)})})


def _spec(run, **option):
    return AnalysisSpec(name="sumk", description="sums", run=run,
                        options=(Option(name="k", type="int", default=3, **option),))


def test_a_default_that_differs_from_the_option_is_caught(tmp_path):
    assert run_problems(_spec(_sum_k)) == [
        "option 'k': run() says default 5 but its Option says 3; declare the default once, in the Option"]
    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=8)
    with pytest.raises(ConformanceError, match="run\\(\\) says default 5 but its Option says 3"):
        check_analysis(_spec(_sum_k), table=table, out_dir=tmp_path / "out")


def test_the_same_default_in_both_places_passes_and_the_option_wins(tmp_path):
    def agree(ctx, *, k=3):
        return _sum_k(ctx, k=k)

    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=8)
    assert run_problems(_spec(agree)) == []
    assert check_analysis(_spec(agree), table=table, out_dir=tmp_path / "out")["summary"]["k"] == 3


def test_options_and_parameters_must_meet():
    def no_k(ctx, *, other):
        raise AssertionError("never run")

    assert run_problems(_spec(no_k)) == [
        "option 'k': run() has no parameter 'k' to receive it",
        "run() parameter 'other' is not an option of the spec, so it is never passed",
    ]

    def any_options(ctx, **options):
        raise AssertionError("never run")

    assert run_problems(_spec(any_options)) == []
    assert "cannot be loaded" in run_problems(_spec("musiclatent.analyses.nothing:run"))[0]


def test_a_multiple_option_default_compares_as_a_tuple():
    def tracks(ctx, *, track=()):
        raise AssertionError("never run")

    spec = AnalysisSpec(name="t", description="d", run=tracks,
                        options=(Option(name="track", type="str", multiple=True, default=()),))
    assert run_problems(spec) == []


def test_check_analysis_keeps_its_positional_arguments(tmp_path):
    """``check_analysis(spec, workdir, table, pooling)``, as musiclatent.testing had it."""
    def agree(ctx, *, k):
        return _sum_k(ctx, k=k)

    table = write_synthetic_table(tmp_path / "t.parquet", n_tracks=8)
    index = check_analysis(_spec(agree), tmp_path / "work", table, "mean", k=4)
    assert (index["pooling"], index["summary"]["k"]) == ("mean", 4)
    assert (tmp_path / "work" / "out" / "sumk" / "index.json").is_file()
