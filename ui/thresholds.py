"""Per-label thresholds of a multi-label model on Predict and Errors: a table label -> threshold -> validation F1
(core.thresholds); edits apply to the page's view at once, "Save thresholds" writes them into the artifact."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from core import thresholds


def threshold_editor(name: str, key: str) -> np.ndarray | None:
    """The thresholds (k,) the page should use for multi-label model `name` (None if it is single-label or has
    no record), after the user's edits in an expander; saving writes only the artifact's thresholds.json."""
    from .cache import refresh_artifacts
    from .chrome import guard

    record = None
    with guard("Could not read the model's thresholds"):
        record = thresholds.for_model(name)
    if record is None:
        return None
    stored = {r["label"]: r["threshold"] for r in thresholds.rows(record)}
    with st.expander("Per-label thresholds (tuned on validation)", icon=":material/tune:"):
        st.caption("A label is predicted when its probability reaches its threshold. Training chose each label's "
                   "threshold to maximise its F1 on the validation split (0.5 where validation has no example). "
                   "Edit a threshold to see its effect on this page; save to make it the model's.")
        table = pd.DataFrame(thresholds.rows(record))
        edited = st.data_editor(
            table, key=f"{key}-editor", hide_index=True, disabled=["label", "val_f1", "f1_at_0.5", "val_positives"],
            column_config={"threshold": st.column_config.NumberColumn(min_value=0.01, max_value=0.99, step=0.01,
                                                                      format="%.2f"),
                           "val_f1": st.column_config.NumberColumn("validation F1", format="%.3f"),
                           "f1_at_0.5": st.column_config.NumberColumn("F1 at 0.5", format="%.3f")})
        edits = {str(r.label): float(r.threshold) for r in edited.itertuples()
                 if abs(float(r.threshold) - stored[str(r.label)]) > 1e-9}
        current = thresholds.with_edits(record, edits) if edits else record
        macro, base = thresholds.macro_f1(current), thresholds.macro_f1(current, "f1_at_default")
        if macro is not None:
            st.caption(f"Validation macro F1 {macro:.3f} with these thresholds ({base:.3f} with 0.5 everywhere)."
                       + (f" Edited: {', '.join(f'{k} → {v:.2f}' for k, v in edits.items())}." if edits else ""))
        if edits and st.button("Save thresholds", key=f"{key}-save", icon=":material/save:"):
            with guard("Could not save the thresholds"):
                thresholds.save_edits(name, edits)
                refresh_artifacts()
                st.toast(f"Saved {len(edits)} threshold(s) to {name}.", icon=":material/save:")
    return thresholds.values(current, list(stored))
