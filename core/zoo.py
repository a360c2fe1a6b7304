"""The demo model zoo: `python -m core zoo [--quick] [--only NAME ...]`.

Builds the standard demo set in a stated time budget on a 2-core CPU: on AG News the TF-IDF baseline,
the best RNN-family model, a fine-tuned MiniLM with its LoRA twin, a distilled student and int8
variants, plus a TF-IDF baseline on every other built-in dataset. Steps whose artifact already exists
(and is not broken) are skipped, so a rerun only builds what is missing. Wall time per step is written
to <cache>/zoo/last_run.json (BENCHMARKS.md reports it).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from typing import Any

from . import artifacts, config
from .errors import ParamError
from .progress import ProgressCallback, null_progress


@dataclass(frozen=True)
class Step:
    """One zoo entry: train `kind` on `dataset` or, when `teacher` is set, compress it with `method`;
    `params` are the family's parameters or the method's settings."""

    name: str
    dataset: str = ""
    kind: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    max_train: int | None = None
    teacher: str | None = None
    method: str | None = None
    quick: bool = False          # part of the --quick smoke run
    warm_maps: bool = False      # pre-compute the Embeddings page's sentence vectors (else ~40 s on first visit)
    note: str = ""

    def describe(self) -> str:
        if self.teacher:
            return f"{self.method} of {self.teacher}"
        size = f", {self.max_train} train rows" if self.max_train else ""
        return f"{self.kind} on {self.dataset}{size}"


# MiniLM settings: one epoch of 64-piece texts in batches of 32 (the LoRA twin: ~4 minutes on 4,000 rows, 2 cores).
_MINILM = {"epochs": 1, "max_length": 64, "batch_size": 32, "evals_per_epoch": 1}

FULL: list[Step] = [
    Step("ag_news-tfidf", "ag_news", "tfidf", quick=True, note="baseline, word + char n-grams"),
    # measured best RNN per minute (BENCHMARKS.md, issue 3): GRU + attention pooling over a word vocabulary whose
    # embeddings start from MiniLM's input embeddings; ~90.7% on AG News in ~4 min on one core
    Step("ag_news-gru-attn", "ag_news", "rnn",
         {"cell": "gru", "bidirectional": False, "aggregation": "attention", "tokenizer": "word",
          "init_embeddings": "minilm-l6", "epochs": 4}, note="best RNN family", warm_maps=True),
    # the flagship: every training row (one epoch, bf16 where the CPU has it) so the demo's transformer is the best
    # single model of the zoo; its LoRA twin and the students stay on 4,000 rows to keep the zoo within 20 minutes.
    # Mean pooling (how all-MiniLM-L6-v2 was pre-trained) at lr 1e-4 reaches in one epoch what the CLS head at 5e-5
    # needs two for (BENCHMARKS.md, session 4: 0.9147 vs 0.9082 with one epoch)
    Step("ag_news-minilm", "ag_news", "transformer", {**_MINILM, "mode": "full", "head": "mean", "lr": 1e-4},
         note="fine-tuned MiniLM-L6 on all training rows (teacher, flagship)", warm_maps=True),
    Step("ag_news-minilm-lora", "ag_news", "transformer", {**_MINILM, "mode": "lora"}, max_train=4000,
         note="LoRA twin of the teacher"),
    Step("ag_news-minilm-int8", teacher="ag_news-minilm", method="int8", note="teacher + int8"),
    Step("ag_news-minilm-student", teacher="ag_news-minilm", method="distill",
         params={"max_train": 4000, "epochs": 2}, note="3-layer student"),
    Step("ag_news-minilm-student-int8", teacher="ag_news-minilm-student", method="int8", note="student + int8"),
    Step("sms_spam-tfidf", "sms_spam", "tfidf", {"class_weight": "balanced"}, quick=True),
    Step("rusentiment-tfidf", "rusentiment", "tfidf", {"class_weight": "balanced"}),
    Step("goemotions-tfidf", "goemotions", "tfidf", {"analyzer": "word"}),
    Step("jigsaw_toxic_binary-tfidf", "jigsaw_toxic_binary", "tfidf"),
    Step("jigsaw_toxic-tfidf", "jigsaw_toxic", "tfidf", {"analyzer": "word"}),
]

# --quick: a smoke run in about two minutes — small samples, no pretrained encoder.
QUICK_OVERRIDES: dict[str, dict[str, Any]] = {
    "ag_news-tfidf": {"max_train": 3000},
    "sms_spam-tfidf": {},
}


def plan(quick: bool = False, only: list[str] | None = None) -> list[Step]:
    """The steps to run, in order (teachers before their variants)."""
    steps = [s for s in FULL if s.quick] if quick else list(FULL)
    if quick:
        steps = [Step(**{**s.__dict__, **QUICK_OVERRIDES.get(s.name, {}), "name": f"{s.name}-quick"}) for s in steps]
    if only:
        unknown = sorted(set(only) - {s.name for s in steps})
        if unknown:
            raise ParamError(f"unknown zoo step(s) {unknown}; known: {[s.name for s in steps]}")
        steps = [s for s in steps if s.name in only]
    return steps


def _exists(name: str) -> bool:
    try:
        return artifacts.get_artifact(name).ok
    except artifacts.ArtifactError:
        return False


def _warm_maps(name: str, progress: ProgressCallback) -> None:
    """Embed the Embeddings page's test sample of `name` now, so the demo's first map opens from the disk cache."""
    from .explain.embedding_cache import embed_sample

    embed_sample(name, progress=lambda d, t, m="", e=None: progress(d, t, f"{name}: {m}"))


def build(quick: bool = False, only: list[str] | None = None, progress: ProgressCallback = null_progress,
          overall: ProgressCallback = null_progress) -> list[dict[str, Any]]:
    """Run the zoo; returns one record per step (name, status built/skipped/failed, seconds, accuracy)."""
    from .compress import compress
    from .progress import Cancelled
    from .train import run

    steps = plan(quick, only)
    records: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    for i, step in enumerate(steps):
        overall(i, len(steps), f"zoo: {step.name}", {"step": i + 1, "of": len(steps)})
        rec: dict[str, Any] = {"name": step.name, "what": step.describe(), "note": step.note}
        if _exists(step.name):
            if step.warm_maps:
                _warm_maps(step.name, progress)
            records.append({**rec, "status": "skipped (exists)", "seconds": 0.0})
            continue
        if step.teacher and not _exists(step.teacher):
            records.append({**rec, "status": f"skipped (needs {step.teacher})", "seconds": 0.0})
            continue
        t0 = time.perf_counter()
        try:
            if step.teacher:
                compress(step.teacher, step.method or "", dict(step.params), name=step.name, progress=progress)
            else:
                run(step.dataset, step.kind, step.params, name=step.name, progress=progress,
                    max_train=step.max_train)
            m = artifacts.get_artifact(step.name).metrics or {}
            rec.update(status="built", accuracy=m.get("accuracy"), f1_macro=m.get("f1_macro"))
            if step.warm_maps:
                _warm_maps(step.name, progress)
        except Cancelled:
            raise
        except Exception as e:  # one failing step must not stop the rest of the demo set
            rec.update(status=f"failed: {e.__class__.__name__}: {e}")
        rec["seconds"] = round(time.perf_counter() - t0, 1)
        records.append(rec)
    overall(len(steps), len(steps), "zoo: done")
    summary = {"quick": quick, "total_seconds": round(time.perf_counter() - t_all, 1), "steps": records,
               "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    out = config.cache_dir() / "zoo"
    out.mkdir(parents=True, exist_ok=True)
    artifacts.write_json(out / ("last_run_quick.json" if quick else "last_run.json"), summary)
    return records


def _setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smoke run: small TF-IDF baselines only (~2 minutes)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="build only these steps")
    p.add_argument("--list", action="store_true", help="print the plan and exit")
    p.add_argument("--job-dir", help=argparse.SUPPRESS)


def _register() -> None:
    from .cli import _table, command

    @command("zoo", "build the standard demo models (skips what exists; --quick for a smoke run)")(_setup)
    def _zoo(args: argparse.Namespace) -> int:
        from .progress import run_as_job

        if args.list:
            print(_table([{"name": s.name, "what": s.describe(), "note": s.note,
                           "exists": _exists(s.name)} for s in plan(args.quick, args.only)]))
            return 0
        records = run_as_job(lambda progress: build(args.quick, args.only, progress=progress), args.job_dir,
                             done_fields=lambda recs: {"message": "zoo built",
                                                       "artifact": recs[-1]["name"] if recs else ""},
                             cancelled_message="cancelled; finished steps were kept")
        if records is None:
            return 130
        print(_table(records))
        print(json.dumps({"total_seconds": sum(r["seconds"] for r in records)}))
        return 0 if not any(str(r["status"]).startswith("failed") for r in records) else 1


_register()
