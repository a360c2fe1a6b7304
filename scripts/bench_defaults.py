"""Default settings on data nobody tuned them for (issue 13): accuracy per family and the pre-flight estimate vs
the measured time and memory.

    python scripts/bench_defaults.py --lab DIR [--dataset NAME|TRAIN.csv [TEST.csv]]... [--families tfidf transformer]
                                     [--threads 1] [--max-train N] [--out results.json]

Each (dataset, family) is trained with the family's DEFAULT settings by `python -m core train --dataset ...
[--test-file TEST.csv] --model FAMILY --threads N` in its own process (so its memory is its own), with the lab
folders of DIR (DIR/artifacts, DIR/cache, DIR/user_data, DIR/jobs). The run's output goes to DIR/bench/logs/NAME.log between
`uptime`-style load lines; from it the pre-flight estimate the CLI prints first (core.preflight.parse_printed),
from the artifact's metrics the test accuracy, macro / weighted F1 and the training loop's measured seconds and
peak RSS. A run whose artifact (NAME = <dataset>-<family>[-m<max_train>]) already exists is not trained again:
its metrics and log are re-read (resumable). A run that stopped before its plan's last step says so in the
seconds column (the estimate is for the whole plan). Writes the results as JSON (--out, default DIR/bench/defaults.json)
and prints a markdown table. Synthetic sets for it: scripts/synthetic_sets.py.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench_training import _load  # noqa: E402  (the load line every bench prints)
from tests.browser_utils import lab_env as lab_folders  # noqa: E402  (the lab's writable folders under one root)

FAMILIES = ("tfidf", "transformer")
_LOAD = re.compile(r"^# load (before|after): (.*)$", re.M)
_NUM = re.compile(r"\d+\.\d+")


def lab_env(lab: Path) -> dict[str, str]:
    """The environment of a run in lab folder `lab` (offline, no progress bars)."""
    return {**os.environ, **lab_folders(lab), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "TQDM_DISABLE": "1"}


def run_name(dataset: str, family: str, max_train: int | None = None) -> str:
    """'intents77_train-transformer' for a file path, 'ag_news-tfidf' for a name; '-m<N>' with max_train."""
    stem = Path(dataset).name.split(".")[0] if os.sep in dataset or "." in dataset else dataset
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_.-") or "data"
    return f"{stem}-{family}" + (f"-m{max_train}" if max_train else "")


def train_command(dataset: str, test_file: str | None, family: str, name: str, threads: int,
                  max_train: int | None) -> list[str]:
    """The `python -m core train` command of one run (default settings: no --set)."""
    cmd = [sys.executable, "-m", "core", "train", "--dataset", dataset, "--model", family, "--name", name,
           "--threads", str(threads)]
    if test_file:
        cmd += ["--test-file", test_file]
    if max_train:
        cmd += ["--max-train", str(max_train)]
    return cmd


def train_logged(cmd: list[str], log: Path, env: dict[str, str]) -> int:
    """Run `cmd`, its output into `log` between '# load before/after:' lines; returns its exit code."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as f:
        f.write(f"# load before: {_load()}\n# command: {' '.join(cmd)}\n")
        f.flush()
        code = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT)).returncode
        f.write(f"# exit {code}\n# load after: {_load()}\n")
    return code


def parse_log(text: str) -> dict[str, Any]:
    """{estimate: core.preflight.parse_printed or None, load_before / load_after: [1, 5, 15 min] or None}."""
    from core.preflight import parse_printed

    loads = {f"load_{when}": [float(x) for x in _NUM.findall(rest)][:3] or None for when, rest in _LOAD.findall(text)}
    return {"estimate": parse_printed(text), "load_before": loads.get("load_before"),
            "load_after": loads.get("load_after")}


def _ratio(est: float | None, real: float | None) -> float | None:
    return round(est / real, 3) if est and real else None


def result_row(dataset: str, family: str, metrics: dict[str, Any], log_text: str) -> dict[str, Any]:
    """One result from an artifact's metrics and its run's log. Measured seconds / MB are the training loop's
    (history train_seconds / peak_memory_mb: what the estimate predicts), else the whole fit's."""
    hist = ((metrics.get("train_info") or {}).get("history")) or {}
    seconds = hist.get("train_seconds") or metrics.get("train_seconds")
    peak = hist.get("peak_memory_mb") or metrics.get("peak_memory_mb")
    parsed = parse_log(log_text)
    est = parsed["estimate"] or {}
    return {
        "dataset": dataset, "family": family, "train_rows": metrics.get("train_rows"),
        "validation_rows": metrics.get("validation_rows"), "test_rows": metrics.get("test_rows"),
        "accuracy": metrics.get("accuracy"), "f1_macro": metrics.get("f1_macro"),
        "f1_weighted": metrics.get("f1_weighted"), "ece": metrics.get("ece"),
        "fit_seconds": metrics.get("train_seconds"), "train_seconds": seconds, "peak_memory_mb": peak,
        "steps": len(hist.get("train_loss") or []) or None, "stopped_early": hist.get("stopped_early"),
        "estimate": parsed["estimate"], "time_ratio": _ratio(est.get("total_seconds"), seconds),
        "memory_ratio": _ratio(est.get("peak_memory_mb"), peak),
        "load_before": parsed["load_before"], "load_after": parsed["load_after"],
    }


def _num(x: Any, fmt: str = ".4f") -> str:
    return "–" if x is None else format(x, fmt)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The results as a markdown table (one row per run)."""
    head = ("| dataset | rows (train/val/test) | family | accuracy | macro F1 | weighted F1 | est / real s (ratio) | "
            "est / real MB (ratio) | load before / after |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        est = r.get("estimate") or {}
        secs = f"{_num(est.get('total_seconds'), '.0f')} / {_num(r['train_seconds'], '.0f')} " \
               f"({_num(r['time_ratio'], '.2f')})"
        if est and r.get("steps") and r["steps"] < est["steps"]:  # the estimate covers the whole plan
            secs += f", {r['steps']:,} of {est['steps']:,} steps"
        mb = f"{_num(est.get('peak_memory_mb'), ',.0f')} / {_num(r['peak_memory_mb'], ',.0f')} " \
             f"({_num(r['memory_ratio'], '.2f')})"
        load = " / ".join(_num((r.get(k) or [None])[0], ".2f") for k in ("load_before", "load_after"))
        rows_txt = "/".join(_num(r.get(k), ",d") for k in ("train_rows", "validation_rows", "test_rows"))
        lines.append(f"| {r['dataset']} | {rows_txt} | {r['family']} | {_num(r['accuracy'])} | {_num(r['f1_macro'])} "
                     f"| {_num(r['f1_weighted'])} | {secs} | {mb} | {load} |")
    return "\n".join(lines)


def bench(lab: Path, datasets: list[tuple[str, str | None]], families: list[str], threads: int = 1,
          max_train: int | None = None) -> list[dict[str, Any]]:
    """Train (or re-read) every (dataset, family) one after the other; returns the result rows."""
    env = lab_env(lab)
    os.environ.update(lab_folders(lab))
    from core.artifacts import get_artifact
    from core.errors import ArtifactError

    rows = []
    for dataset, test_file in datasets:
        for family in families:
            name = run_name(dataset, family, max_train)
            log = lab / "bench" / "logs" / f"{name}.log"
            try:
                info = get_artifact(name)
            except ArtifactError:
                print(f"training {name} ({_load()})", flush=True)
                code = train_logged(train_command(dataset, test_file, family, name, threads, max_train), log, env)
                if code:
                    print(f"{name}: exit code {code}, see {log}", flush=True)
                    continue
                info = get_artifact(name)
            if info.broken or not info.metrics:
                print(f"{name}: artifact broken ({info.broken}); delete it to train again", flush=True)
                continue
            rows.append(result_row(Path(dataset).name, family, info.metrics, log.read_text() if log.exists() else ""))
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", required=True, type=Path, help="lab folder (artifacts, cache, user_data, bench)")
    ap.add_argument("--dataset", nargs="+", action="append", metavar="NAME|TRAIN [TEST]",
                    help="a built-in name or a file path, optionally followed by its test file (repeatable)")
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-train", type=int)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    datasets = [(d[0], d[1] if len(d) > 1 else None) for d in (args.dataset or [["ag_news"]])]
    rows = bench(args.lab, datasets, args.families, args.threads, args.max_train)
    out = args.out or args.lab / "bench" / "defaults.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(markdown(rows))
    print(f"\n{len(rows)} run(s), {args.threads} thread(s); results in {out} ({_load()})")


if __name__ == "__main__":
    main()
