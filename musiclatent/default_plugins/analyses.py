"""Built-in plugin: the latent-space analyses (pca, umap, cluster, neighbors, interpolate, probe, views,
dims).

Registered exactly as a third-party plugin would: specs only, naming the code as import strings,
so listing analyses (``musiclatent analyze --help``) imports neither sklearn, torch nor umap.

Each option's default is declared here, once: the runner passes every option to ``run``, whose
keyword-only parameters have no defaults (``check_analysis`` refuses a ``run`` default that
differs from its ``Option``; ``tests/test_analysis_defaults.py`` refuses any in the built-ins).
Each one's section of ``musiclatent report`` is in ``REPORT_SECTIONS``, the page top to bottom.
"""

from dataclasses import replace

from musiclatent.hookspecs import hookimpl
from musiclatent.registry import AnalysisSpec, Option, ReportSection

_PKG = "musiclatent.analyses"

REPORT_SECTIONS: dict[str, ReportSection] = {  # how `musiclatent report` shows each, top to bottom
    "umap": ReportSection(title="UMAP map: click a point to hear the track", order=10,
                          always=True, view="map"),
    "pca": ReportSection(title="PCA projection", order=20),
    "cluster": ReportSection(title="Clusters against the genres", order=30, always=True),
    "neighbors": ReportSection(title="Nearest neighbours: songs that sound alike", order=40,
                               always=True, view="neighbors"),
    "interpolate": ReportSection(title="Interpolations and genre centroids", order=50, always=True),
    "probe": ReportSection(title="Genre probe: how much genre the latents carry", order=60,
                           always=True, view="probe"),
    "dims": ReportSection(title="Latent dimensions in use", order=70, view="dims"),
    "views": ReportSection(title="Track views: original and reconstruction", order=80),
}


@hookimpl
def register_analyses(register):
    """Register the built-in analyses, each with its section of the report."""

    def add(spec: AnalysisSpec) -> None:
        register(replace(spec, report=REPORT_SECTIONS[spec.name]))

    add(AnalysisSpec(
        name="pca",
        description="PCA map of the track vectors coloured by genre, 3-D coordinates, explained variance.",
        run=f"{_PKG}.pca:run",
        options=(
            Option(name="components", type="int", default=20, minimum=1, help="Components to compute (variance chart)."),
            Option(name="standardize_features", type="bool", default=True,
                   help="Standardise every dimension before PCA."),
        ),
    ))
    add(AnalysisSpec(
        name="umap",
        description="2-D UMAP map of the standardised track vectors, coloured by genre.",
        run=f"{_PKG}.umap_map:run",
        options=(
            Option(name="n_neighbors", type="int", default=15, minimum=2, help="UMAP neighbourhood size (clipped to n-1)."),
            Option(name="min_dist", type="float", default=0.1, minimum=0.0, help="UMAP minimum distance between points."),
            Option(name="metric", type="choice", default="euclidean",
                   choices=("euclidean", "cosine", "manhattan", "correlation"), help="Distance in UMAP."),
            Option(name="fit_sample", type="int", default=20000,
                   help="Above this many tracks, fit on a random sample of this many and place the "
                        "rest with transform (0: fit on every track)."),
        ),
    ))
    add(AnalysisSpec(
        name="cluster",
        description="k-means and agglomerative clustering over a range of k; elbow, silhouette, "
                    "ARI/NMI/purity against genres, cluster-by-genre heatmap.",
        run=f"{_PKG}.cluster:run",
        options=(
            Option(name="k_min", type="int", default=2, minimum=2, help="Smallest k."),
            Option(name="k_max", type="int", default=15, minimum=2, help="Largest k (clipped to n-1)."),
            Option(name="method", type="choice", default="both", choices=("both", "kmeans", "agglomerative"),
                   help="Clustering method(s)."),
        ),
    ))
    add(AnalysisSpec(
        name="neighbors",
        description="k nearest tracks of every track with distances, precision@k by genre; "
                    "nearest tracks of query audio files outside the corpus.",
        run=f"{_PKG}.neighbors:run",
        options=(
            Option(name="k", type="int", default=5, minimum=1, help="Neighbours per track."),
            Option(name="metric", type="choice", default="cosine", choices=("cosine", "euclidean"),
                   help="Distance between track vectors."),
            Option(name="query", type="path", multiple=True, default=(),
                   help="Audio file to encode with the table's model and search (repeatable)."),
            Option(name="index", type="choice", default="auto", choices=("auto", "exact", "ann"),
                   help="Search: exact brute force, the approximate FAISS index (faiss-cpu), or auto "
                        "(exact up to 20000 tracks, approximate above when FAISS is installed)."),
        ),
    ))
    add(AnalysisSpec(
        name="interpolate",
        description="Decode steps between two tracks' latents to WAV with their spectrograms; "
                    "decode genre centroids (the average song of a genre).",
        run=f"{_PKG}.interpolate:run",
        needs_model=True,
        options=(
            Option(name="from", type="str", default=None, help="Track id to start from (default: by seed)."),
            Option(name="to", type="str", default=None, help="Track id to end at (default: by seed)."),
            Option(name="steps", type="int", default=8, minimum=2, help="Number of steps, ends included."),
            Option(name="mode", type="choice", default="linear", choices=("linear", "slerp"),
                   help="Linear or spherical interpolation."),
            Option(name="centroid", type="str", multiple=True, default=(),
                   help="Genre whose mean latent is decoded (repeatable; 'all' for every genre)."),
        ),
    ))
    add(AnalysisSpec(
        name="probe",
        description="Linear genre classifier with stratified (or --group-by grouped) cross-validation on the track vectors, "
                    "beside an MFCC baseline and chance; confusion matrix.",
        run=f"{_PKG}.probe:run",
        options=(
            Option(name="folds", type="int", default=5, minimum=2, help="Cross-validation folds (clipped to the smallest class)."),
            Option(name="repeats", type="int", default=5, minimum=1,
                   help="Repeat the cross-validation over this many shuffles of the folds; scores are the "
                        "mean, with their spread over repeats."),
            Option(name="baseline", type="bool", default=True,
                   help="Also score MFCC mean+std features (over each whole track) read from the corpus audio."),
            Option(name="fit_sample", type="int", default=20000,
                   help="Above this many labelled tracks, cross-validate on a stratified random sample "
                        "of this many (0: every track)."),
            Option(name="group_by", type="str", default=None,
                   help="Group the folds by this column (of the tracks, or of the corpus's labels CSV, "
                        "e.g. source_track) so excerpts of one track never sit on both sides (stratified group k-fold)."),
        ),
    ))
    add(AnalysisSpec(
        name="views",
        description="Waveform, spectrogram and mel spectrogram of tracks beside their reconstruction.",
        run=f"{_PKG}.views:run",
        needs_model=True,
        options=(
            Option(name="track", type="str", multiple=True, default=(),
                   help="Track id to show (repeatable; default: the first test track)."),
            Option(name="seconds", type="float", default=10.0, minimum=0.01, help="Seconds of each track to show."),
        ),
    ))
    add(AnalysisSpec(
        name="dims",
        description="How many latent dimensions the model uses: variance of every latent channel, the PCA "
                    "explained-variance curve of the latent frames, dimensions for 90/95/99% of it.",
        run=f"{_PKG}.dims:run",
    ))
