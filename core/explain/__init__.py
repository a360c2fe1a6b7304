"""Explanations and error analysis: pure functions over arrays, `texts -> probabilities` callables
or `TextClassifier`s (never a specific model class), so every family that declares a capability gets them.

Modules (import the one you need; heavy libraries are imported lazily inside them):
    attribution   TokenAttribution (the output of every explainer), align_to_words
    attention     head average, layer/head selection, rollout, CLS row, word-piece merging, token_scores
    shap_text     SHAP through predict_proba (partition explainer + regex word masker); exact linear path
    gradients     integrated gradients (captum) through a model's `gradient_target()` hook
    agreement     Spearman rank agreement between two attributions, per text and over a sample
    confusable    "why A -> B" words, mean attribution per word, most confused class pairs
    projection    PCA / t-SNE / UMAP maps with a capped stratified sample and a disk cache; shared PCA
    label_quality "the label is probably wrong" scores (cleanlab, self-confidence fallback)
    render        escaped HTML of coloured tokens, word diffs and the self-contained "case file"
    edits         word-level edits (remove / keep / replace words) and the class score edits are judged by
    trust         explanation trust: ERASER deletion check (comprehensiveness, sufficiency vs random words), stability
    counterfactual edit-and-compare, the minimal flip (greedy removal guided by attributions), substitutions
    cf_cli        `python -m core counterfactual` (cli: `explain --contrast B --trust`)
"""
from .attribution import TokenAttribution, align_to_words

__all__ = ["TokenAttribution", "align_to_words"]
