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
    ("musiclatent.fileio", "exclusive", "musiclatent.locks"),
    ("musiclatent.fileio", "BusyError", "musiclatent.locks"),
    ("musiclatent.fileio", "remove_stale", "musiclatent.locks"),
    ("musiclatent.fileio", "corpus_file", "musiclatent.corpus.paths"),
    ("musiclatent.fileio", "CorpusPathError", "musiclatent.corpus.paths"),
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


def test_every_name_that_left_fileio_still_imports_from_it_with_a_warning():
    """The split of fileio (locks, corpus.paths) keeps ``from musiclatent.fileio import X`` for
    every name it had, warning at the importing line for the ones that moved."""
    import musiclatent.corpus.paths
    import musiclatent.fileio as fileio
    import musiclatent.locks

    moved = {**dict.fromkeys(fileio.MOVED_TO_LOCKS, musiclatent.locks),
             **dict.fromkeys(fileio.MOVED_TO_CORPUS, musiclatent.corpus.paths)}
    assert set(moved) == set(musiclatent.locks.__all__) | set(musiclatent.corpus.paths.__all__)
    for name, home in moved.items():
        assert name not in vars(fileio), f"{name} is still defined in fileio"
        with pytest.warns(DeprecationWarning, match=rf"musiclatent\.fileio\.{name} moved to {home.__name__}\.") as caught:
            value = getattr(fileio, name)
        assert value is getattr(home, name) and caught[0].filename == __file__
        assert f"(musiclatent.fileio.{name} is removed in the next minor release)" in str(caught[0].message)
    with pytest.warns(DeprecationWarning) as caught:
        from musiclatent.fileio import exclusive  # noqa: F401
    assert caught[0].filename == __file__
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        fileio.nothing_here  # noqa: B018
