"""The one base of every musiclatent exception.

``MusiclatentError`` marks an error the user can fix (a bad file, option, folder or plugin input):
the CLI prints it as one line (``Error: ...``, exit 1) and any other exception as a bug, with its
traceback. Each layer keeps its own subclass next to the code that raises it, importable from there:

=====================  ==========================================  ==========================
domain                 class (where it is defined)                 also a
=====================  ==========================================  ==========================
corpus                 ``corpus.errors.CorpusError``,
                       ``AudioReadError``, ``corpus.synth.SynthArgumentError``  ``ValueError`` (synth)
segments               ``corpus.segments.SegmentLengthError``      ``ValueError``
latent table           ``latents.errors.LatentTableError``,
                       ``latents.pooling.PoolingError``,           ``ValueError`` (pooling)
                       ``latents.ray_engine.RayMissingError``
checkpoint             ``checkpoint.CheckpointError``
device                 ``devices.DeviceError``                     ``ValueError``
losses                 ``losses.LossSpecError``                    ``ValueError``
training               ``training.config.TrainingError``,
                       ``training.gridsearch.GridSearchError``
analysis               ``analyses.AnalysisError``,
                       ``testing.ConformanceError``               ``AssertionError``
plugins                ``registry.RegistryError``
workspace              ``workspace.WorkspaceError``
files                  ``fileio.UnsafePathError``,                 ``ValueError``
                       ``corpus.paths.CorpusPathError``,           ``ValueError``
                       ``locks.BusyError``
report                 ``report.build.ReportError``
export                 ``exporting.ExportError``                   ``ValueError``
=====================  ==========================================  ==========================

Plugin authors raise a ``MusiclatentError`` subclass (one of the above, or their own) for what the
user must fix; the message is one line naming the file or option and what to do.
"""


class MusiclatentError(Exception):
    """An error the user can fix; its message is one line naming the file or option and what to do."""
