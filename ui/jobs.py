"""Background jobs on pages: start them (errors shown, never raised) and a live monitor with Cancel buttons."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from core import artifacts, jobs
from core.budget import run_summary
from core.jobs import Job
from core.safety import fmt

from .cache import artifact_info, refresh_artifacts
from .chrome import PAGE_COMPARE, PAGE_ERRORS, PAGE_PREDICT, page_link, show_error

#: Jobs read per monitor refresh (most recent first).
RECENT = 20


def _zoo_ready(job: Job) -> tuple[int, int]:
    """(models of a zoo job's plan that exist, models in the plan)."""
    names = job.zoo_names()
    return sum(artifact_info(n) is not None for n in names), len(names)


def _render_active(job: Job, key: str) -> None:
    frac, message = job.fraction, job.message or "starting…"
    if job.command == "zoo":  # overall progress: models of the plan that exist, plus the current one
        ready, total = _zoo_ready(job)
        frac = min((ready + frac) / max(total, 1), 1.0)
        message = f"{ready} of {total} models ready; now {message}"
    cols = st.columns([6, 1], vertical_alignment="center")
    cols[0].progress(frac, text=f"**{job.title}** — {message} ({frac:.0%})")
    if cols[1].button("Cancel", key=f"{key}-cancel-{job.id}", icon=":material/cancel:"):
        jobs.cancel_job(job.id)
        st.toast("Cancelling… the job stops at its next progress step.")


def _render_done(job: Job) -> None:
    done = ":material/check_circle:"
    if job.command == "zoo":
        ready, total = _zoo_ready(job)
        st.success(f"**{job.title}** finished: {ready} of {total} demo models ready.", icon=done)
        page_link(PAGE_COMPARE, "Compare them", ":material/leaderboard:")
        return
    if job.command == "bench":
        st.success(f"**{job.title}** finished: the scorecard on the Compression page shows the new run.", icon=done)
        return
    info = artifact_info(job.artifact) if job.artifact else None
    m = (info.metrics if info else None) or {}
    st.success(f"**{job.title}** finished: model `{job.artifact}` — accuracy {fmt(m.get('accuracy'))}, "
               f"macro F1 {fmt(m.get('f1_macro'))}, trained in {fmt(m.get('train_seconds'), 1)} s.", icon=done)
    plan = run_summary(((m.get("train_info") or {}).get("history")) or {})  # epochs planned / run / kept
    if plan:
        st.caption(plan)
    if job.artifact:
        cols = st.columns(3)
        with cols[0]:
            page_link(PAGE_PREDICT, "Try it on Predict", ":material/edit_note:", {"model": job.artifact})
        with cols[1]:
            page_link(PAGE_ERRORS, "See its errors", ":material/grid_on:", {"model": job.artifact})


def _render_job(job: Job, key: str) -> None:
    if job.is_active:
        _render_active(job, key)
    elif job.state == "done":
        _render_done(job)
    elif job.state == "failed":
        st.error(f"**{job.title}** failed.", icon=":material/error:")
        if job.error:
            st.code(str(job.error)[-3000:], language=None)
    elif job.state == "cancelled":
        kept = "models finished before were kept" if job.command == "zoo" else "nothing was saved"
        st.info(f"**{job.title}** was cancelled; {kept}.", icon=":material/cancel:")
    else:
        st.write(f"{job.title}: {job.state}")


def _render_jobs(all_jobs: list[Job], key: str, recent: int, max_age_s: float | None = None) -> None:
    finished = [j for j in all_jobs if not j.is_active]
    if max_age_s is not None:
        now = time.time()
        finished = [j for j in finished if now - j.updated <= max_age_s]
    finished = finished[:recent]
    for job in [j for j in all_jobs if j.is_active] + finished:
        _render_job(job, key)
    if finished and st.button("Clear finished jobs", key=f"{key}-clear", type="tertiary"):
        jobs.clear_finished()
        st.rerun()


@st.fragment(run_every=1.0)
def _live_jobs(key: str, recent: int, max_age_s: float | None) -> None:
    # Re-run only this fragment every second while a job runs; once none is left, rerun the whole page
    # so tables listing models pick up the new artifact and the polling stops.
    all_jobs = jobs.recent_jobs(RECENT)
    _render_jobs(all_jobs, key, recent, max_age_s)
    if not any(j.is_active for j in all_jobs):
        refresh_artifacts()
        st.rerun()


def job_monitor(key: str = "jobs", recent: int = 3, max_age_s: float | None = None) -> bool:
    """Progress bars (with Cancel) of running background jobs and the outcome of the `recent` last
    finished ones (only those finished within `max_age_s` seconds, if given). Refreshes itself every
    second while a job runs. Returns whether any job is running."""
    all_jobs = jobs.recent_jobs(RECENT)
    running = any(j.is_active for j in all_jobs)
    if running:
        _live_jobs(key, recent, max_age_s)
    else:
        _render_jobs(all_jobs, key, recent, max_age_s)
    return running


def jobs_running() -> bool:
    """Whether any background job (training, compression, zoo, benchmark) is running or starting."""
    return any(j.is_active for j in jobs.recent_jobs(RECENT))


def _start(what: str, start: Callable[[], str]) -> str | None:
    """Run `start() -> job id`; on any error show it ("Could not start <what>") and return None."""
    try:
        job_id = start()
    except Exception as exc:  # noqa: BLE001 - shown on the page; nothing was started
        show_error(exc, f"Could not start {what}")
        return None
    time.sleep(0.2)  # let the process write its first progress so the bar appears at once
    return job_id


def start_job(dataset: str, kind: str, params: dict[str, Any] | None = None, name: str | None = None,
              max_train: int | None = None) -> str | None:
    """Start a background training job (errors shown, None returned if it could not start)."""
    def start() -> str:
        if name:  # fail here, visibly, rather than in the background job's log
            artifacts.check_new_name(name)
        return jobs.start_job(dataset, kind, params or {}, name, max_train=max_train)

    return _start("training", start)


def start_zoo(quick: bool) -> str | None:
    """Start `python -m core zoo [--quick]` in the background (errors shown, None if it could not start)."""
    return _start("the model zoo", lambda: jobs.start_job("ag_news", "zoo", command="zoo",
                                                          extra_args=["--quick"] if quick else []))


def start_bench(names: Sequence[str], reference: str, dataset: str, repeats: int = 30, n_texts: int = 200,
                threads: int | None = None) -> str | None:
    """Start `python -m core bench NAMES --reference REF ...` in the background (errors shown; None if it could
    not start). The run is saved under cache_dir()/bench and appears in ui.bench_runs() when done."""
    models = list(dict.fromkeys([reference, *names]))
    args = [*models, "--reference", reference, "--repeats", str(int(repeats)), "--n-texts", str(int(n_texts))]
    if threads:
        args += ["--threads", str(int(threads))]
    return _start("the benchmark", lambda: jobs.start_job(dataset, f"{len(models)} models", command="bench",
                                                          extra_args=args))


def start_compress(teacher: str, method: str, settings: dict[str, Any] | None = None,
                   name: str | None = None) -> str | None:
    """Validate the settings, then start `python -m core compress --teacher T --method M ...` in the background
    (errors shown; None if it could not start)."""
    def start() -> str:
        from core.compress import resolve_settings

        if name:
            artifacts.check_new_name(name)
        resolve_settings(method, settings)
        info = artifacts.get_artifact(teacher)
        return jobs.start_job(info.dataset, method, settings or {}, name=name, command="compress",
                              extra_args=["--teacher", teacher, "--method", method])

    return _start("the compression", start)
