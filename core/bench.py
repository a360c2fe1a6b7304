"""Benchmark of saved models: size, parameters, latency, throughput, quality, agreement with a reference.

    bench(names, reference=None, n_texts=200, threads=None, repeats=30) -> (DataFrame, machine dict)

Measured honestly, in one process, so models compete under the same conditions:
  * a fixed torch thread count (`threads`, default core.config.num_threads()), restored afterwards;
  * every model is loaded first, then warmed up (3 single texts + 1 batch) before anything is timed;
  * timings are interleaved round-robin (one call of model A, then B, then C, ...; the starting model rotates each
    round), so a burst of load from other processes on a shared machine hits every model alike;
  * each timing is one end-to-end `predict_proba` call (tokenisation included: what a user waits for).
Columns (one row per model):
  size_mb              files under the artifact's model/ folder (an ensemble: its members' folders summed)
  n_parameters         learned numbers (int8 ones included)
  latency_p50_ms / latency_p95_ms            one text of ~64 word pieces, batch 1, `repeats` calls
  latency_real_p50_ms / latency_real_p95_ms  batch 1 over `n_texts` real test texts (each once)
  throughput_per_s     texts per second at batch `batch_size` (32) over real test texts (median of batches)
  accuracy, f1_macro, ece                    from the artifact's stored test predictions (`recompute=True` re-runs)
  changed_vs_reference share of test predictions that differ from the reference model's
  compression_ratio    reference size / size;  speedup = reference latency_p50 / latency_p50 (also for the
                       real-text latency and throughput)
The run is saved as JSON + CSV under core.config.cache_dir()/bench/ (`latest_run()` reads the newest).
"""
from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ParamError
from .progress import ProgressCallback, null_progress
from .scoresets import require_one_test_set

if TYPE_CHECKING:  # annotations only: pandas loads lazily
    import argparse

    import pandas as pd

COLUMNS = ["model", "kind", "method", "parent", "size_mb", "n_parameters", "latency_p50_ms", "latency_p95_ms",
           "latency_real_p50_ms", "latency_real_p95_ms", "throughput_per_s", "accuracy", "f1_macro", "ece",
           "changed_vs_reference", "compression_ratio", "speedup", "speedup_real", "throughput_ratio"]


def bench_dir() -> Path:
    from .config import cache_dir

    path = cache_dir() / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _hf_tokenizer(models: Sequence[Any]) -> Any:
    """The first Hugging Face tokenizer among the models (or their ensemble members)."""
    for m in models:
        for cand in [m, *getattr(m, "members", {}).values()]:
            tok = getattr(cand, "tokenizer", None)
            if tok is not None and hasattr(tok, "convert_tokens_to_string"):
                return tok
    return None


def text_of_tokens(texts: Sequence[str], models: Sequence[Any], n_tokens: int = 64) -> tuple[str, int | None]:
    """A text of about `n_tokens` word pieces made of real test texts (concatenated, then truncated), and its
    exact piece count under the first Hugging Face tokenizer among `models` (None when there is none: then
    ~0.75 words per piece is assumed)."""
    joined = " ".join(t for t in texts[:50] if t.strip()) or "example text " * n_tokens
    tok = _hf_tokenizer(models)
    if tok is not None:
        ids = tok(joined, add_special_tokens=False, truncation=True, max_length=4 * n_tokens)["input_ids"]
        ids = ids[: n_tokens - 2]  # + [CLS] and [SEP]
        text = tok.decode(ids)
        return text, len(tok(text)["input_ids"])
    return " ".join(joined.split()[: int(n_tokens * 0.75)]), None


def _size_mb(info: Any, model: Any) -> float:
    from .artifacts import artifact_dir, dir_size_mb

    size = dir_size_mb(info.path / "model")
    for member in getattr(model, "member_names", []):
        size += dir_size_mb(artifact_dir(member) / "model")
    return size


def _changed(a: Any, b: Any) -> float | None:
    """Share of rows where two Predictions disagree (None if they are not over the same texts)."""
    if len(a.texts) != len(b.texts) or a.texts != b.texts:
        return None
    ya, yb = a.y_pred, b.y_pred
    diff = (ya != yb).any(axis=1) if ya.ndim == 2 else ya != yb
    return float(np.mean(diff))


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1000.0


def bench(names: list[str], reference: str | None = None, n_texts: int = 200, threads: int | None = None,
          repeats: int = 30, batch_size: int = 32, batch_repeats: int = 5, recompute: bool = False,
          progress: ProgressCallback | None = None, save: bool = True, seed: int = 0
          ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Benchmark artifacts `names` (see the module docstring); returns (table, machine + settings dict).

    `reference` (default: the first name) is the row the ratios and changed predictions are computed against.
    Raises ParamError (before loading anything) when the models were scored on different test sets
    (core.scoresets): benchmark each group on its own.
    """
    import pandas as pd
    import torch

    from .artifacts import ArtifactError, get_artifact, load_model, load_predictions
    from .config import num_threads
    from .evaluate import evaluate
    from .machine import machine_info
    from .train import predict_in_chunks

    progress = progress or null_progress
    names = list(dict.fromkeys(names))
    if not names:
        raise ParamError("name at least one model to benchmark")
    reference = reference or names[0]
    if reference not in names:
        names = [reference, *names]
    infos = {}
    for n in names:
        info = get_artifact(n)
        if info.broken:
            raise ArtifactError(f"model {n!r} is broken: {info.broken}")
        infos[n] = info
    # ratios and agreement are against the reference, quality columns come from each stored test set: both
    # mean something only when every model was scored on the reference's test set
    require_one_test_set([infos[reference], *[infos[n] for n in names if n != reference]],
                         "benchmarked against one reference")
    old_threads = torch.get_num_threads()
    threads = int(threads or num_threads())
    torch.set_num_threads(threads)
    try:
        models, preds = {}, {}
        for i, n in enumerate(names):
            progress(i, len(names), f"bench: loading {n}")
            models[n] = load_model(n)
            preds[n] = load_predictions(n)
        ref_preds = preds[reference]
        rng = np.random.default_rng(seed)
        pool = [t for t in ref_preds.texts if t.strip()] or ["example text"]
        sample = [pool[i] for i in rng.choice(len(pool), min(n_texts, len(pool)), replace=False)]
        text64, n_pieces = text_of_tokens(sample, list(models.values()))
        order = list(names)

        def rotation(r: int) -> list[str]:
            k = r % len(order)
            return order[k:] + order[:k]

        for i, n in enumerate(names):  # warm-up: allocator, lazy kernels, tokenizer caches
            progress(i, len(names), f"bench: warming up {n}")
            for _ in range(3):
                models[n].predict_proba([text64])
            models[n].predict_proba(sample[:batch_size])
        lat64: dict[str, list[float]] = {n: [] for n in names}
        for r in range(repeats):
            for n in rotation(r):
                lat64[n].append(_timed(models[n].predict_proba, [text64]))
            progress(r + 1, repeats, "bench: latency at 64 tokens")
        lat_real: dict[str, list[float]] = {n: [] for n in names}
        for i, t in enumerate(sample):
            for n in rotation(i):
                lat_real[n].append(_timed(models[n].predict_proba, [t]))
            if (i + 1) % 10 == 0 or i + 1 == len(sample):
                progress(i + 1, len(sample), "bench: latency over real texts")
        tput: dict[str, list[float]] = {n: [] for n in names}
        for r in range(batch_repeats):
            start = (r * batch_size) % max(len(sample), 1)
            batch = (sample[start:] + sample[:start])[:batch_size]
            batch = (batch * (batch_size // max(len(batch), 1) + 1))[:batch_size]
            for n in rotation(r):
                tput[n].append(len(batch) / (_timed(models[n].predict_proba, batch) / 1000.0))
            progress(r + 1, batch_repeats, f"bench: throughput at batch {batch_size}")

        rows = []
        for n in names:
            info, m = infos[n], models[n]
            metrics = info.metrics or {}
            if recompute:
                p = preds[n]
                proba = predict_in_chunks(m, p.texts, message=f"bench: re-scoring {n}")
                metrics = evaluate(p.y_true, proba, p.labels, multilabel=p.multilabel, threshold=p.threshold)
                preds[n].proba = proba
            comp = info.manifest.get("compression") or {}
            rows.append({
                "model": n, "kind": info.kind, "method": comp.get("method", ""), "parent": info.manifest.get("parent"),
                "size_mb": round(_size_mb(info, m), 4), "n_parameters": int(m.n_parameters()),
                "latency_p50_ms": float(np.percentile(lat64[n], 50)),
                "latency_p95_ms": float(np.percentile(lat64[n], 95)),
                "latency_real_p50_ms": float(np.percentile(lat_real[n], 50)),
                "latency_real_p95_ms": float(np.percentile(lat_real[n], 95)),
                "throughput_per_s": float(np.median(tput[n])),
                "accuracy": metrics.get("accuracy"), "f1_macro": metrics.get("f1_macro"), "ece": metrics.get("ece"),
            })
        ref = next(r for r in rows if r["model"] == reference)
        for r in rows:
            r["changed_vs_reference"] = _changed(preds[r["model"]], preds[reference])
            r["compression_ratio"] = ref["size_mb"] / r["size_mb"] if r["size_mb"] else None
            r["speedup"] = ref["latency_p50_ms"] / r["latency_p50_ms"]
            r["speedup_real"] = ref["latency_real_p50_ms"] / r["latency_real_p50_ms"]
            r["throughput_ratio"] = r["throughput_per_s"] / ref["throughput_per_s"]
        df = pd.DataFrame(rows, columns=COLUMNS)
        machine = machine_info(threads)
        machine["settings"] = {"reference": reference, "n_texts": len(sample), "repeats": repeats,
                               "batch_size": batch_size, "batch_repeats": batch_repeats, "threads": threads,
                               "text_64_pieces": n_pieces, "text_64_words": len(text64.split()),
                               "recomputed": bool(recompute), "interleaved": True,
                               "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    finally:
        torch.set_num_threads(old_threads)
    if save:
        machine["saved_to"] = str(save_run(df, machine))
    return df, machine


def save_run(df: pd.DataFrame, machine: dict[str, Any]) -> Path:
    """Write <bench_dir>/<timestamp>.json ({rows, machine}) and .csv; returns the JSON path."""
    from .artifacts import write_json

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = bench_dir() / f"{stamp}.json"
    write_json(path, {"rows": df.to_dict(orient="records"), "machine": machine})
    df.to_csv(path.with_suffix(".csv"), index=False)
    return path


def list_runs() -> list[Path]:
    """Saved benchmark runs (JSON files), newest first."""
    return sorted(bench_dir().glob("*.json"), reverse=True)


def load_run(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    import pandas as pd

    data = json.loads(Path(path).read_text())
    return pd.DataFrame(data["rows"], columns=COLUMNS), data.get("machine", {})


def runs_stamp(limit: int = 200) -> str:
    """Names and mtimes of the newest `limit` saved runs: changes whenever a run is written or removed."""
    return "|".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in list_runs()[:limit])


def saved_runs(limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` saved runs, newest first: {path, rows (DataFrame, COLUMNS), machine, models, reference,
    created}; half-written or foreign files are skipped."""
    out = []
    for path in list_runs()[:limit]:
        try:
            df, machine = load_run(path)
        except (OSError, ValueError, KeyError):
            continue
        settings = machine.get("settings") or {}
        out.append({"path": str(path), "rows": df, "machine": machine, "models": list(df["model"]),
                    "reference": settings.get("reference") or (df["model"].iloc[0] if len(df) else None),
                    "created": settings.get("created") or path.stem})
    return out


def latest_run() -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The newest saved run, or None."""
    runs = list_runs()
    return load_run(runs[0]) if runs else None


def changed_predictions(name: str, reference: str) -> pd.DataFrame:
    """Test examples whose prediction differs between `name` and `reference`: text, true label, both predictions
    and confidences (multi-label: the predicted label sets)."""
    import pandas as pd

    from .artifacts import load_predictions

    a, b = load_predictions(name), load_predictions(reference)
    if a.texts != b.texts:
        raise ParamError(f"{name!r} and {reference!r} were evaluated on different test texts")
    ya, yb = a.y_pred, b.y_pred
    rows = np.flatnonzero((ya != yb).any(axis=1) if ya.ndim == 2 else ya != yb)

    def label(p: Any, y: np.ndarray, i: int) -> str:
        if p.multilabel:
            return ", ".join(p.labels[j] for j in np.flatnonzero(y[i])) or "(none)"
        return p.labels[int(y[i])]

    return pd.DataFrame({
        "text": [a.texts[i] for i in rows],
        "true": [label(a, a.y_true, i) for i in rows],
        "reference": [label(b, yb, i) for i in rows],
        "reference_confidence": [float(b.confidence[i]) for i in rows],
        "variant": [label(a, ya, i) for i in rows],
        "variant_confidence": [float(a.confidence[i]) for i in rows],
    })


# ----------------------------------------------------------------------------------------------- CLI
def _setup_cli(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", help="models to benchmark (artifact names)")
    p.add_argument("--reference", help="model the ratios and changed predictions refer to (default: the first)")
    p.add_argument("--threads", type=int, help="torch threads (default: TEXTLAB_THREADS or all cores)")
    p.add_argument("--n-texts", type=int, default=200, help="real test texts timed one by one")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per model on the 64-piece text")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--recompute", action="store_true", help="re-run predictions instead of the stored ones")
    p.add_argument("--json", action="store_true", help="print JSON (rows + machine) instead of a table")
    p.add_argument("--job-dir", help="==SUPPRESS==")  # (argparse.SUPPRESS) used by the Compression page's jobs


def _register() -> None:
    from .cli import command

    @command("bench", "size, parameters, latency p50/p95, throughput, accuracy, agreement of saved models")(_setup_cli)
    def _bench_cmd(args: argparse.Namespace) -> int:
        from .machine import summary
        from .progress import run_as_job

        out = run_as_job(lambda progress: bench(args.names, args.reference, n_texts=args.n_texts,
                                                threads=args.threads, repeats=args.repeats,
                                                batch_size=args.batch_size, recompute=args.recompute,
                                                progress=progress),
                         args.job_dir, done_fields=lambda r: {"saved_to": r[1].get("saved_to")})
        if out is None:  # cancelled: nothing was saved
            return 130
        df, machine = out
        if args.json:
            print(json.dumps({"rows": df.to_dict(orient="records"), "machine": machine}, indent=2, default=str))
            return 0
        import pandas as pd

        with pd.option_context("display.width", 250, "display.max_columns", 50):
            print(df.drop(columns=["parent"]).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        s = machine["settings"]
        print(f"\nmachine: {summary(machine)}")
        print(f"reference {s['reference']}; {s['threads']} threads; latency text {s['text_64_pieces'] or '~64'} "
              f"word pieces ({s['text_64_words']} words), {s['repeats']} calls; {s['n_texts']} real texts; "
              f"throughput at batch {s['batch_size']}")
        print(f"saved to {machine.get('saved_to')}")
        return 0


_register()
