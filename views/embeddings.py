"""Embeddings: where a model places the test texts, as a 2-D map (PCA / t-SNE / UMAP), and two models in one space."""
import numpy as np
import streamlit as st

import ui
from core.explain.projection import shared_pca

METHODS = {"pca": "PCA (instant)", "tsne": "t-SNE", "umap": "UMAP"}
COLOURS = ["true label", "predicted label", "correct / wrong", "confidence"]

ui.page_header(
    "Embeddings",
    "Each point is a test text placed by the model's sentence vector ([CLS] or pooled state), reduced to two "
    "dimensions. Texts the model finds alike sit together; hover a point to read its text.",
)

embedders = [i for i in ui.artifact_infos() if i.ok and "embed" in i.capabilities]
if not embedders:
    kinds = ", ".join(f"{title} (`{kind}`)" for kind, title in ui.embed_families().items())
    ui.empty_state("No trained model provides sentence embeddings. Maps need a neural model — " + kinds +
                   ". TF-IDF models have no embedding (their features are the vocabulary itself).")
    st.stop()
# the selected model (Predict, Errors, a link) without vectors: say which models of its dataset have them
ui.require_selected("embed", "has no sentence vectors (a TF-IDF model's features are the vocabulary itself)",
                    key="embeddings-use")

name, preds = ui.model_and_predictions("embeddings-model", "This model's test split has fewer than 3 texts: there is "
                                       "nothing to map.", min_texts=3, require="embed")

c1, c2 = st.columns(2)
method = c1.radio("Projection", list(METHODS), format_func=METHODS.get, horizontal=True, key="embeddings-method",
                  help="PCA keeps global distances (fast, linear). t-SNE and UMAP keep neighbourhoods and show "
                       "clusters better, but distances between clusters mean little; ~30 s for 3,000 points the "
                       "first time, cached afterwards.")
colour = c2.radio("Colour by", COLOURS, horizontal=True, key="embeddings-colour")
cap = ui.EMBED_CAP  # one fixed sample per model: its embeddings are cached on disk and shared by every map


def labels_of(y) -> list[str]:
    """Label names of true / predicted rows (multi-label rows joined with commas)."""
    if preds.multilabel:
        return [", ".join(preds.labels[j] for j in np.flatnonzero(r)) or "(none)" for r in y]
    return [preds.labels[int(v)] for v in y]


def colour_values(rows: np.ndarray) -> tuple[list | np.ndarray, bool]:
    """Values to colour the points `rows` (test rows) by, and whether they are continuous."""
    y_true, y_pred = preds.y_true[rows], preds.y_pred[rows]
    if colour == "true label":
        return labels_of(y_true), False
    if colour == "predicted label":
        return labels_of(y_pred), False
    if colour == "correct / wrong":
        right = (y_true == y_pred).reshape(len(rows), -1).all(axis=1)
        return np.where(right, "correct", "wrong"), False
    return preds.confidence[rows], True


proj = rows = None
with ui.guard("Could not build the map"):
    idx, emb = ui.embed_sample(name, cap)
    proj = ui.projection(name, method, emb)
    rows = idx[proj.indices]  # test rows of the projected points
if proj is not None:
    n_total = len(preds.texts)
    shown = f"{len(rows):,} of {n_total:,} test texts (a sample stratified by true label, capped at {cap:,})" \
        if len(rows) < n_total else f"all {n_total:,} test texts (maps are capped at {cap:,})"
    st.caption(f"Showing {shown}; {METHODS[method].split(' (')[0]} "
               + ("loaded from the cache." if proj.from_cache else f"computed in {proj.seconds:.1f} s."))
    values, continuous = colour_values(rows)
    right = (preds.y_true[rows] == preds.y_pred[rows]).reshape(len(rows), -1).all(axis=1)
    hover = {"true": labels_of(preds.y_true[rows]), "predicted": labels_of(preds.y_pred[rows]),
             "confidence": [f"{c:.3f}" for c in preds.confidence[rows]], "test row": rows}
    axes = ("PC 1", "PC 2") if method == "pca" else (f"{method.upper()} 1", f"{method.upper()} 2")
    fig = ui.xplots.embedding_scatter(proj.coords, [preds.texts[i] for i in rows], values, color_name=colour,
                                      continuous=continuous, hover=hover, highlight=None if colour == "correct / wrong"
                                      else ~right, highlight_name="wrong", axis_titles=axes,
                                      title=f"{name}: test texts, {METHODS[method].split(' (')[0]}")
    st.plotly_chart(fig, key="embeddings-map")
    if colour != "correct / wrong":
        st.caption("Black rings mark texts the model gets wrong.")

st.subheader("Two models in one space")
st.caption("For a teacher and its student (or a model and its quantised copy): both models embed the same test "
           "texts; one PCA space holds both (joint PCA for same-size vectors, otherwise each map is rotated onto the "
           "first). A grey line joins a text's two points when the models predict it differently.")
if st.toggle("Compare with a second model", key="embeddings-compare"):
    info = ui.artifact_info(name)
    other = ui.pick_other_model(name, key="embeddings-model-b", require="embed", dataset=info.dataset if info else None)
    if other is not None:
        with ui.guard("Could not build the shared map"):
            preds_b = ui.load_predictions(other)
            if list(preds_b.texts) != list(preds.texts):
                st.warning(f"“{other}” was tested on other texts than “{name}” (another dataset or split): the two "
                           "maps cannot be paired.", icon=":material/warning:")
            else:
                idx, emb_a = ui.embed_sample(name, cap)
                idx_b, emb_b = ui.embed_sample(other, cap)
                shared = shared_pca(emb_a, emb_b, pred_a=preds.y_pred[idx], pred_b=preds_b.y_pred[idx],
                                    cap=max(len(emb_a), 1))
                texts = [preds.texts[i] for i in idx[shared.indices]]
                n_diff = int(shared.differ.sum()) if shared.differ is not None else 0
                c1, c2, c3 = st.columns(3)
                c1.metric("Texts", f"{len(texts):,}")
                c2.metric("Predictions differ", f"{n_diff:,}", help="texts the two models label differently")
                c3.metric("Shape disparity", f"{shared.disparity:.3f}",
                          help=f"{shared.mode} PCA; residual after aligning the maps: 0 = same shape, 1 = unrelated")
                st.plotly_chart(ui.xplots.shared_scatter(shared.coords_a, shared.coords_b, texts, shared.differ,
                                                         names=(name, other)), key="embeddings-shared")
