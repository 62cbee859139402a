"""PyAirbyte runs `kaizala airbyte` as a local executable and reads every
stream into its DuckDB cache; prints the cache's row count per stream and
how many records this read processed, as JSON.

Usage: pyairbyte.py EXECUTABLE CONFIG.json CACHE_DIR
"""
import json
import os
import sys

# No connector registry, no telemetry: the connector is local, tests run
# with no network but PyPI's (read when PyAirbyte is imported).
os.environ["AIRBYTE_OFFLINE_MODE"] = "1"
os.environ["DO_NOT_TRACK"] = "1"
# PyAirbyte's own files (caches, installs) in the test's directory, not
# `.cache` in the working directory: read when it is imported.
os.environ["AIRBYTE_PROJECT_DIR"] = sys.argv[3]

import airbyte as ab  # noqa: E402
from airbyte.caches import DuckDBCache  # noqa: E402

executable, config_path, cache_dir = sys.argv[1:4]
with open(config_path) as f:
    config = json.load(f)
source = ab.get_source(
    "source-kaizala", local_executable=executable, config=config, install_if_missing=False
)
source.check()
source.select_all_streams()
cache = DuckDBCache(db_path=f"{cache_dir}/cache.duckdb", schema_name="kaizala")
result = source.read(cache=cache)
counts = {}
for name in source.get_available_streams():
    counts[name] = len(cache[name].to_pandas()) if name in cache.streams else 0
print(json.dumps({"counts": counts, "processed": result.processed_records}))
