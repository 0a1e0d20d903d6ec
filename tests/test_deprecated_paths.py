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
