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
    ("musiclatent.model", "AudioAutoencoder", "musiclatent.architectures.base"),
    ("musiclatent.model", "fit_length", "musiclatent.architectures.base"),
    ("musiclatent.model", "pad_to_multiple", "musiclatent.architectures.base"),
    ("musiclatent.model", "count_parameters", "musiclatent.architectures.base"),
    ("musiclatent.model", "select_device", "musiclatent.devices"),
    ("musiclatent.model", "available_devices", "musiclatent.devices"),
    ("musiclatent.model", "release_memory", "musiclatent.devices"),
    ("musiclatent.model", "DeviceError", "musiclatent.devices"),
    ("musiclatent.models.seed", "Alt5", "musiclatent.architectures.seed"),
    ("musiclatent.models.modern", "WaveAutoencoder", "musiclatent.architectures.modern"),
    ("musiclatent.models.spectral", "MelAutoencoder", "musiclatent.architectures.spectral"),
    ("musiclatent.models.spectral", "LOG_FLOOR", "musiclatent.architectures.spectral"),
    ("musiclatent.models.hybrid", "HybridAutoencoder", "musiclatent.architectures.hybrid"),
    ("musiclatent.models.fused", "FusedLinearEncoder", "musiclatent.nn.fused"),
    ("musiclatent.models.blocks", "LeftUnpool1d", "musiclatent.nn.seed_layers"),
    ("musiclatent.models.layers", "Snake1d", "musiclatent.nn.modern_layers"),
    ("musiclatent.models.layers", "ISTFTHead", "musiclatent.nn.modern_layers"),
    ("musiclatent.benchmarks.quality", "run_quality", "musiclatent.quality.benchmark"),
    ("musiclatent.benchmarks.quality", "DEFAULT_MODELS", "musiclatent.quality.benchmark"),
    ("musiclatent.benchmarks.references", "opus_roundtrip", "musiclatent.quality.references"),
    ("musiclatent.benchmarks.references", "resample_codec", "musiclatent.quality.references"),
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
    with pytest.warns(DeprecationWarning) as caught:  # a shim whose names went to two modules
        from musiclatent.model import AudioAutoencoder, select_device  # noqa: F401
    assert [w.filename for w in caught] == [__file__, __file__]


@pytest.mark.parametrize("old", ["musiclatent.analysis", "musiclatent.model", "musiclatent.models.layers"])
def test_unknown_and_private_names_are_attribute_errors(old):
    module = importlib.import_module(old)
    with pytest.raises(AttributeError, match=f"module '{old}' has no attribute 'nothing_here'"):
        module.nothing_here  # noqa: B018
    with pytest.raises(AttributeError):
        module._cache  # noqa: B018


def test_moved_model_modules_import_warn_at_the_importing_line_and_build_the_same_model():
    """``musiclatent.models.*`` left no files behind (git carries edits over to the new paths);
    ``import``, ``from ... import`` and the registry's ``"musiclatent.models.seed:Alt5"`` still work."""
    import musiclatent.models.seed as old_seed
    import torch

    from musiclatent.architectures import seed
    from musiclatent.registry import ArchitectureSpec

    assert importlib.import_module("musiclatent.models.layers") is importlib.import_module("musiclatent.models").layers
    with pytest.warns(DeprecationWarning) as caught:
        from musiclatent.models.blocks import down_conv  # noqa: F401
    assert caught[0].filename == __file__
    with pytest.warns(DeprecationWarning, match="musiclatent.models.seed.Alt5 moved to musiclatent.architectures.seed"):
        old_spec = ArchitectureSpec(name="alt5", description="", factory="musiclatent.models.seed:Alt5")
        torch.manual_seed(0)
        old_model = old_spec.build()
    torch.manual_seed(0)
    new_model = seed.Alt5()
    assert type(old_model) is type(new_model)
    assert all(torch.equal(a, b) for a, b in zip(old_model.state_dict().values(), new_model.state_dict().values(),
                                                  strict=True))
    with pytest.warns(DeprecationWarning):
        assert old_seed.Alt5 is seed.Alt5


@pytest.mark.parametrize("package", ["models", "benchmarks"])
def test_a_module_still_at_its_old_path_is_refused(package):
    """The moved modules' old files are gone: a file reappearing at an old path (say, a merge
    that missed a rename) would be silently shadowed by the shim, so fail loudly here instead."""
    from pathlib import Path

    import musiclatent

    root = Path(musiclatent.__file__).parent
    left = sorted(p.name for p in (root / package).glob("*.py") if p.name != "__init__.py")
    assert left == [], f"musiclatent/{package}/ should hold only the shim __init__.py, found {left}"


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
                    "pooling": "meanstddelta", "k": 3}


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
