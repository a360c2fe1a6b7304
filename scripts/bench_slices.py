"""Time slices + discovery of a saved model (run from the project root), cold (its slice caches and discovery
embeddings removed first) and cached (a second run in the same process, then a fresh process reads the disk cache).

    TEXTLAB_ARTIFACTS_DIR=DIR TEXTLAB_CACHE_DIR=DIR python scripts/bench_slices.py MODEL [--pool N] [--space S]

Prints each step's seconds, the machine's load (uptime) before and after, and the table / cluster counts.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, ".")

from core import artifacts, config  # noqa: E402
from core.slices import discover, slice_table  # noqa: E402
from core.slices.discovery import POOL_CAP  # noqa: E402


def clear(model: str) -> int:
    """Remove the model's cached slice tables, tags, clusters and embeddings; returns how many files went."""
    gone = 0
    safe = model.replace("/", "_")
    for folder in (config.cache_dir() / "slices", config.cache_dir() / "embeddings"):
        for f in folder.glob(f"{safe}-*") if folder.is_dir() else []:
            f.unlink()
            gone += 1
    return gone


def timed(label: str, work):
    """Run work(); print wall seconds and CPU seconds of this process (all threads): on a shared, loaded machine
    the CPU seconds are the load-independent cost (an idle machine's wall time is at most about that)."""
    t, c = time.perf_counter(), time.process_time()
    out = work()
    print(f"{label}: {time.perf_counter() - t:.1f} s wall, {time.process_time() - c:.1f} s CPU", flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--pool", type=int, default=POOL_CAP)
    p.add_argument("--space", default="auto")
    p.add_argument("--no-clear", action="store_true", help="keep the caches (time a warm start only)")
    args = p.parse_args()
    print("load before:", os.getloadavg(), f"cores: {os.cpu_count()}", flush=True)
    if not args.no_clear:
        print(f"cleared {clear(args.model)} cached files of {args.model}")
    artifacts.get_artifact(args.model)
    t0, c0 = time.perf_counter(), time.process_time()
    table = timed("slices (cold)", lambda: slice_table(args.model))
    found = timed("discovery (cold)", lambda: discover(args.model, space=args.space, pool=args.pool))
    print(f"slices + discovery cold: {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU; "
          f"{len(table)} slices, "
          f"{len(found.clusters)} clusters ({found.space}), {int(found.clusters['significant'].sum())} significant")
    t0 = time.perf_counter()
    timed("slices (cached, same process)", lambda: slice_table(args.model))
    timed("discovery (cached, same process)", lambda: discover(args.model, space=args.space, pool=args.pool))
    print(f"slices + discovery cached: {time.perf_counter() - t0:.2f} s")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "slices", args.model], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "core", "slices", args.model, "--discover", "--space", args.space,
                    "--pool", str(args.pool)], check=True, capture_output=True)
    print(f"two CLI runs reading the disk cache (fresh processes, imports included): {time.perf_counter() - t:.1f} s")
    print("load after:", os.getloadavg(), flush=True)


if __name__ == "__main__":
    main()
