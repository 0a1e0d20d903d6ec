"""Check that Renumics Spotlight loads a musiclatent export, without a browser or a server.

Run it with the Python of an environment where `pip install renumics-spotlight` was done (it does
not need musiclatent):

    musiclatent export --for spotlight --out tracks.parquet
    /path/to/spotlight-venv/bin/python examples/check_spotlight_export.py tracks.parquet latent_meanstddelta

It builds Spotlight's data store with the `--dtype` settings `musiclatent export` prints, converts
every cell of the first rows as the viewer would (the embedding to a vector, the audio file to its
bytes) and exits non-zero on any failure. Checked with renumics-spotlight 1.8.2.
"""

import sys
from pathlib import Path

from renumics.spotlight import dtypes
from renumics.spotlight.data_source import create_datasource
from renumics.spotlight.data_store import DataStore
from renumics.spotlight.plugin_loader import load_plugins


def main(path: Path, vector: str) -> None:
    load_plugins()  # registers the Parquet/CSV data sources
    user = {vector: dtypes.create_dtype("embedding"), "audio": dtypes.create_dtype("audio")}
    store = DataStore(create_datasource(path), user)
    kinds = {name: str(kind) for name, kind in store.dtypes.items()}
    assert kinds[vector] == "Embedding" and kinds["audio"] == "Audio", kinds
    rows = list(range(min(3, len(store))))
    for name in store.column_names:
        store.get_converted_values(name, rows, simple=True)
    vectors = store.get_converted_values(vector, rows)
    audio = store.get_converted_values("audio", rows)
    assert all(len(v) == len(vectors[0]) > 0 for v in vectors)
    assert all(isinstance(a, bytes) and len(a) > 44 for a in audio), "audio files not found"
    print(f"ok: {len(store)} rows, {vector} has {len(vectors[0])} values, audio of row 0: {len(audio[0])} bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "latent_meanstddelta")
