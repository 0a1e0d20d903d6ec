"""Old import paths that plugin authors and users may use still work for one deprecation cycle:
the same objects as the new paths, with a DeprecationWarning naming the new home."""

from __future__ import annotations

import importlib

import pytest

MOVED = [
    # (old module, name, new module)
    ("musiclatent.analysis", "AnalysisResult", "musiclatent.analyses.base"),
    ("musiclatent.analysis", "AnalysisContext", "musiclatent.analyses.base"),
    ("musiclatent.analysis", "AnalysisError", "musiclatent.analyses.base"),
    ("musiclatent.analysis.runner", "run_analysis", "musiclatent.analyses.runner"),
    ("musiclatent.analysis.runner", "write_result", "musiclatent.analyses.runner"),
    ("musiclatent.analysis.testing", "write_synthetic_table", "musiclatent.testing.tables"),
    ("musiclatent.analysis.testing", "register_tiny_codec", "musiclatent.testing.tables"),
    ("musiclatent.analysis.conformance", "ConformanceError", "musiclatent.testing.analyses"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_old_path_warns_and_gives_the_same_object(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to {new}\."):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)


def test_from_import_warns_at_the_importing_line():
    with pytest.warns(DeprecationWarning) as caught:
        from musiclatent.analysis import AnalysisResult  # noqa: F401
    assert caught[0].filename == __file__


def test_unknown_and_private_names_are_attribute_errors():
    import musiclatent.analysis as old

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        old.nothing_here  # noqa: B018
    with pytest.raises(AttributeError):
        old._cache  # noqa: B018


def test_private_rows_helper_is_renamed():
    import musiclatent.analysis.testing as old
    from musiclatent.testing import segment_rows

    with pytest.warns(DeprecationWarning, match="moved to musiclatent.testing.tables.segment_rows"):
        assert old._rows is segment_rows


def test_old_conformance_check_takes_the_table_second(tmp_path, monkeypatch):
    """The old ``check_analysis(spec, table_path, out_dir)`` still works, warning, through the new one."""
    import musiclatent.analysis.conformance as old
    from musiclatent.testing import analyses

    seen = {}
    monkeypatch.setattr(analyses, "check_analysis", lambda spec, **kw: seen.update(spec=spec, **kw) or {"ok": 1})
    with pytest.warns(DeprecationWarning, match="musiclatent.testing.check_analysis"):
        assert old.check_analysis("pca", tmp_path / "t.parquet", tmp_path / "out", k=3) == {"ok": 1}
    assert seen == {"spec": "pca", "table": tmp_path / "t.parquet", "out_dir": tmp_path / "out",
                    "pooling": "meanstd", "k": 3}
