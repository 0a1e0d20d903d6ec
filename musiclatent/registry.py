"""Frozen spec dataclasses for what plugins register, and the registry that collects them.

Specs are cheap to build: they name the code that builds a model or runs an analysis as an
import string (``"package.module:attribute"``) and only import it when asked, so listing
plugins never imports torch, umap or other heavy libraries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from musiclatent.corpus.rates import DEFAULT_SAMPLE_RATE
from musiclatent.errors import MusiclatentError


class RegistryError(MusiclatentError):
    """A plugin registered something invalid (e.g. a duplicate name)."""


def import_object(path: str | Callable) -> Any:
    """Import ``"package.module:attr.sub"``; a callable is returned as it is."""
    if not isinstance(path, str):
        return path
    module_name, _, attr = path.partition(":")
    if not attr:
        raise RegistryError(f"import path {path!r} must look like 'package.module:attribute'")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True, kw_only=True)
class Option:
    """One option of an analysis (becomes a click option of ``musiclatent analyze NAME``).

    ``type`` is one of ``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"choice"``, ``"path"``.
    ``multiple=True`` lets the option be given several times (a tuple is passed).
    ``minimum`` / ``maximum`` bound an ``int`` or ``float`` option (inclusive; ``None``: unbounded);
    the runner refuses a value outside them with a one-line error, before the analysis runs.
    """

    name: str
    type: str = "str"
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    multiple: bool = False
    minimum: float | None = None
    maximum: float | None = None


REPORT_VIEWS: tuple[str, ...] = ("map", "neighbors", "probe", "dims")
"""Views the report can draw on top of a section (``ReportSection.view``): ``map``: the panel of
the clicked track's neighbours under the charts (and a scatter of ``x``/``y`` from the coordinates
table when no chart was written); ``neighbors``: players for every query and its neighbours, and
the "songs like this" panel; ``probe``: latents beside the MFCC baseline and chance; ``dims``: how
many channels hold 90/95/99% of the variance."""


@dataclass(frozen=True, kw_only=True)
class ReportSection:
    """How ``musiclatent report`` shows an analysis (``AnalysisSpec.report``).

    ``title``: the section heading. ``order``: sections sort by it, then by name (the built-ins
    use 10..80; an analysis without a section comes after every one with). ``always``: listed with
    a "not computed yet" placeholder naming the command that makes it, before it has run.
    ``charts`` / ``tables`` / ``audio``: the output names to show, in the order written (``None``:
    every one; a table left out is still linked as CSV). ``view``: one of :data:`REPORT_VIEWS`
    drawn on top (``""``: none). Every string is escaped by the report.
    """

    title: str
    order: int = 100
    always: bool = False
    charts: tuple[str, ...] | None = None
    tables: tuple[str, ...] | None = None
    audio: tuple[str, ...] | None = None
    view: str = ""

    def problems(self) -> list[str]:
        """What is wrong with this section, one line each (empty when it is fine)."""
        found = []
        if not isinstance(self.title, str) or not self.title.strip():
            found.append("a report section needs a title")
        if self.view and self.view not in REPORT_VIEWS:
            found.append(f"report view {self.view!r} is not one of {', '.join(REPORT_VIEWS)}")
        for kind in ("charts", "tables", "audio"):
            names = getattr(self, kind)
            if names is not None and (isinstance(names, str) or not all(isinstance(n, str) for n in names)):
                found.append(f"report {kind} must be a tuple of output names, not {names!r}")
        return found


@dataclass(frozen=True, kw_only=True)
class ArchitectureSpec:
    """An autoencoder architecture.

    ``factory`` builds the ``musiclatent.architectures.base.AudioAutoencoder`` and is called as
    ``factory(**config)`` where ``config`` is ``defaults`` updated with user overrides.
    ``recipe`` holds the training defaults used when this model is trained
    (``lr``, ``epochs``, ``loss``, ``batch_size``, ``scheduler`` ...).
    """

    name: str
    description: str
    factory: str | Callable
    defaults: Mapping[str, Any] = field(default_factory=dict)
    recipe: Mapping[str, Any] = field(default_factory=dict)
    sample_rate: int = DEFAULT_SAMPLE_RATE
    tags: tuple[str, ...] = ()
    plugin: str = ""
    distribution: str = ""

    kind = "architecture"

    def build(self, **overrides: Any):
        """Import the factory and build the model with ``defaults`` updated by ``overrides``."""
        config = {**dict(self.defaults), **overrides}
        model = import_object(self.factory)(**config)
        model.arch_name = self.name
        model.arch_config = config
        return model


@dataclass(frozen=True, kw_only=True)
class AnalysisSpec:
    """A latent-space analysis.

    ``run`` is called as ``run(ctx, **options)`` with a ``musiclatent.analyses.AnalysisContext``
    and every option (its default from the ``Option``: declare it there, once), and returns a
    ``musiclatent.analyses.AnalysisResult``; the runner, not the analysis, writes the outputs.
    ``report``: how ``musiclatent report`` shows it (``None``: a plain section, after the others,
    only once it has run).
    """

    name: str
    description: str
    run: str | Callable
    options: tuple[Option, ...] = ()
    needs_model: bool = False
    report: ReportSection | None = None
    plugin: str = ""
    distribution: str = ""

    kind = "analysis"

    def load(self) -> Callable:
        return import_object(self.run)


@dataclass
class Registry:
    """What the plugins registered, by kind and name, plus the plugins that failed to load."""

    architectures: dict[str, ArchitectureSpec] = field(default_factory=dict)
    analyses: dict[str, AnalysisSpec] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)

    def validate(self, spec: ArchitectureSpec | AnalysisSpec) -> None:
        """Raise ``RegistryError`` if ``spec`` is not a spec or its name is invalid."""
        if not isinstance(spec, (ArchitectureSpec, AnalysisSpec)):
            raise RegistryError(f"plugin registered {spec!r}, an object that is not a spec")
        if not isinstance(spec.name, str) or not spec.name.replace("-", "_").replace(".", "_").isidentifier():
            raise RegistryError(
                f"plugin {spec.plugin!r} registered {spec.kind} with invalid name {spec.name!r}"
            )
        report = getattr(spec, "report", None)
        if report is not None:
            problems = report.problems() if isinstance(report, ReportSection) else [
                f"report must be a ReportSection, not {type(report).__name__}"]
            if problems:
                raise RegistryError(f"plugin {spec.plugin!r} registered analysis {spec.name!r}: {'; '.join(problems)}")

    def add(self, spec: ArchitectureSpec | AnalysisSpec) -> None:
        self.validate(spec)
        table = self.architectures if isinstance(spec, ArchitectureSpec) else self.analyses
        if spec.name in table:
            other = table[spec.name]
            raise RegistryError(
                f"{spec.kind} {spec.name!r} is registered twice: by plugin {other.plugin!r}"
                f" ({other.distribution or 'unknown distribution'}) and by plugin"
                f" {spec.plugin!r} ({spec.distribution or 'unknown distribution'})"
            )
        table[spec.name] = spec

    def architecture(self, name: str) -> ArchitectureSpec:
        try:
            return self.architectures[name]
        except KeyError:
            known = ", ".join(sorted(self.architectures)) or "none"
            raise RegistryError(f"unknown model {name!r}; registered models: {known}") from None

    def analysis(self, name: str) -> AnalysisSpec:
        try:
            return self.analyses[name]
        except KeyError:
            known = ", ".join(sorted(self.analyses)) or "none"
            raise RegistryError(f"unknown analysis {name!r}; registered analyses: {known}") from None
