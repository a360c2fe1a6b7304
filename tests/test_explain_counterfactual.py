"""Counterfactuals, contrastive attributions and explanation trust on tiny planted models (core.explain.counterfactual,
core.explain.trust, the registry's `contrast`), plus their CLI twins.

The planted model scores words with fixed weights: "goal" speaks for sport only, "match" for sport and business
alike, "shares" for business, "minister" for world. So removing "goal" must flip sport, "why sport and not business"
must rank "goal" first (and cancel "match"), and an attribution naming "goal" must beat a random one at deletion.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from core.errors import ParamError
from core.explain import registry
from core.explain.counterfactual import (
    compare,
    decision,
    minimal_flip,
    substitution_candidates,
    suggest_substitutions,
    word_diff,
)
from core.explain.edits import rebuild, words
from core.explain.trust import deletion_check, registry_trust, second_budget, topk_overlap
from tests.tiny_bert import tiny_dataset

LABELS = ["world", "sport", "business"]
#: word -> logit added to (world, sport, business)
WEIGHTS = {"goal": (0, 2.5, 0), "match": (0, 4, 4), "shares": (0, 0, 3), "minister": (3, 0, 0)}
TEXT = "Fans saw the late goal in the match at the old stadium today"


def planted_logits(texts) -> np.ndarray:
    out = []
    for t in texts:
        z = np.array([1.0, 0.0, 0.0])
        for w in re.findall(r"\w+", t.lower()):
            z += np.array(WEIGHTS.get(w, (0, 0, 0)), dtype=float)
        out.append(z)
    return np.array(out)


def planted(texts) -> np.ndarray:
    z = planted_logits(texts)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def planted_multilabel(texts) -> np.ndarray:
    return 1 / (1 + np.exp(-(planted_logits(texts) - 2.0)))  # independent sigmoids; threshold 0.5


def test_edits_keep_the_text_around_removed_words():
    assert words("A goal, then\nanother!") == ["A", "goal", ",", "then", "another", "!"]
    assert rebuild("A late goal, then\nanother", [1]) == "A goal, then\nanother"
    assert rebuild("a b c", replace={1: "x"}) == "a x c"


def test_minimal_flip_removes_the_planted_keyword_first():
    assert planted([TEXT])[0].argmax() == 1
    attr = registry.run("shap", planted, TEXT, 1, max_evals=120).to_words(TEXT)
    flip = minimal_flip(planted, TEXT, attr.values, 1, max_edits=5)
    # "match" pushes sport and business alike, so removing "goal" is what turns the text away from sport
    assert flip.flipped and flip.was_predicted
    assert flip.removed[0] in ("goal", "match") and "goal" in flip.removed
    assert "goal" not in flip.text.lower().split()
    assert flip.path[0] == pytest.approx(planted([TEXT])[0, 1]) and flip.path[-1] < flip.path[0]
    assert len(flip.path) == len(flip.removed) + 1 and flip.prediction != [1]


def test_minimal_flip_respects_the_budget_and_reports_no_flip():
    text = "goal goal goal goal match"
    values = np.zeros(len(words(text)))  # no guidance: the only word types are tried anyway
    flip = minimal_flip(lambda ts: np.tile([0.1, 0.9, 0.0], (len(ts), 1)), text, values, 1, max_edits=2)
    assert not flip.flipped and len(flip.removed) == 2 and flip.prediction == [1]


def test_multilabel_flip_turns_a_label_off_and_another_on():
    text = "The minister watched the goal"
    p = planted_multilabel([text])[0]
    assert p[1] >= 0.5 and p[0] >= 0.5  # sport and world both on
    values = registry.run("shap", planted_multilabel, text, 1, max_evals=80).to_words(text).values
    flip = minimal_flip(planted_multilabel, text, values, 1, multilabel=True, threshold=0.5)
    assert flip.flipped and flip.removed == ["goal"] and 1 not in flip.prediction and 0 in flip.prediction
    # a label that is off: remove what pushes it away (nothing planted pushes business away: no flip, no crash)
    off = minimal_flip(planted_multilabel, text, np.zeros(len(words(text))), 2, multilabel=True, max_edits=2)
    assert not off.was_predicted and not off.flipped
    assert decision(planted_multilabel([text]), 1, True, [0.5, 0.5, 0.5]).tolist() == [True]


def shared_word_model(texts) -> np.ndarray:
    """World by default (logit 5); "match" lifts sport and business alike (+6 each), "goal" sport only (+3)."""
    z = np.array([[5.0 + 0 * len(t), 3.0 * ("goal" in t) + 6.0 * ("match" in t), 6.0 * ("match" in t)]
                  for t in texts])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_contrastive_shap_ranks_the_planted_word_first():
    assert shared_word_model([TEXT])[0].argmax() == 1
    plain = registry.run("shap", shared_word_model, TEXT, 1, max_evals=150).to_words(TEXT)
    why = registry.run("shap", shared_word_model, TEXT, 1, contrast=2, max_evals=150).to_words(TEXT)
    assert why.extra["contrast"] == 2
    assert plain.tokens[int(np.argmax(plain.values))] == "match"  # towards sport alone, "match" weighs most
    assert why.tokens[int(np.argmax(why.values))] == "goal"  # sport rather than business: "goal" decides
    with pytest.raises(ParamError, match="contrast"):
        registry.run("shap", planted, TEXT, 1, contrast=1)


@pytest.fixture(scope="module")
def tfidf_model():
    from core.models import tfidf

    return tfidf.fit(tiny_dataset(), {})[0]


def test_contrastive_linear_is_the_coefficient_difference(tfidf_model):
    text = "The coach saw the team win the match as stock prices fell"
    a, b = tfidf_model.labels.index("Sports"), tfidf_model.labels.index("Business")
    why = registry.run("linear", tfidf_model, text, a, contrast=b)
    pa, pb = (np.array([v for _, v in tfidf_model.contributions(text, c)]) for c in (a, b))
    np.testing.assert_allclose(why.values, pa - pb)
    top = why.tokens[int(np.argmax(why.values))].lower()
    assert top in {"coach", "team", "win", "match"}
    assert why.tokens[int(np.argmin(why.values))].lower() in {"stock", "prices", "price"}


def test_contrastive_integrated_gradients_rank_the_planted_word_first():
    pytest.importorskip("torch")
    from core.explain.gradients import integrated_gradients
    from tests.test_explain_gradients import ConventionModel, HookModel, trained_net

    net = trained_net()
    text = "the fans saw a late goal in the match"
    model = ConventionModel(net)
    attr = registry.run("ig", model, text, 1, contrast=0, n_steps=16)  # through the registry
    assert attr.tokens[int(np.argmax(attr.values))] == "goal" and attr.extra["contrast"] == 0
    hook = integrated_gradients(HookModel(net), text, 1, contrast=0, n_steps=16)  # a bare hook, outside the contract
    assert hook.tokens[int(np.argmax(hook.values))] == "goal"
    reverse = registry.run("ig", model, text, 0, contrast=1, n_steps=16)
    np.testing.assert_allclose(reverse.values, -attr.values, atol=1e-5)  # the difference, seen from the other side


def test_deletion_check_separates_a_faithful_from_a_random_attribution():
    faithful = registry.run("shap", planted, TEXT, 1, max_evals=150).to_words(TEXT).values
    rng = np.random.default_rng(3)
    comp_random = []
    for _ in range(5):
        shuffled = rng.normal(size=len(faithful))
        comp_random.append(deletion_check(planted, TEXT, shuffled, 1, k=2)["comprehensiveness"])
    good = deletion_check(planted, TEXT, faithful, 1, k=2)
    assert good["comprehensiveness"] > 0.5  # removing "match" and "goal" drops p(sport) from ~0.9
    assert good["comprehensiveness"] > np.mean(comp_random) + 0.3
    assert good["comprehensiveness"] > good["random_comprehensiveness"]
    assert good["sufficiency"] < good["random_sufficiency"]  # those two words alone keep the score


def test_trust_stability_and_determinism(tfidf_model):
    text = tiny_dataset().test.texts[0]
    k = int(tfidf_model.predict_proba([text])[0].argmax())
    lin = registry.run("linear", tfidf_model, text, k)
    t = registry_trust(tfidf_model, tfidf_model.predict_proba, text, lin, "linear")
    assert t.stability is None and "deterministic" in t.stability_note and len(t.lines()) == 3
    sh = registry.run("shap", planted, TEXT, 1, max_evals=120)
    t2 = registry_trust(planted, planted, TEXT, sh, "shap", {"max_evals": 120})
    assert 0.0 <= t2.stability <= 1.0 and "max_evals 120 vs 60" in t2.stability_note
    assert "goal" in t2.top_words and "match" in t2.top_words
    assert topk_overlap(np.array([3, 2, 1, 0.0]), np.array([0, 2, 3, 1.0]), 2) == 0.5
    assert second_budget(20, 1000, 200) == 100 and second_budget(20, 1000, 30) == 60


def test_edit_and_compare_returns_the_deltas_and_the_word_diff():
    edited = TEXT.replace("goal", "shares")

    def attribution(text, c):
        return registry.run("shap", planted, text, c, max_evals=60)

    cmp = compare(planted, TEXT, edited, LABELS, attribution)
    np.testing.assert_allclose(cmp.delta, planted([edited])[0] - planted([TEXT])[0])
    assert cmp.table()["class"].iloc[0] in ("sport", "business")  # the largest change first
    changed = [op for op in cmp.diff if op.tag != "equal"]
    assert [(op.tag, op.a, op.b) for op in changed] == [("replace", "goal", "shares")]
    w = cmp.words.set_index("word")
    assert w.loc["goal", "delta"] < 0 and w.loc["shares", "value_edited"] < 0  # towards sport: shares pushes away
    assert [op.tag for op in word_diff("a b c", "a c d")] == ["equal", "delete", "equal", "insert"]
    long = "The market rallied on bank news, again. " * 3000  # 24,000 repetitive words: head/tail matched first
    ops = word_diff(long, long.replace("bank", "oil", 1))
    assert [(op.tag, op.a, op.b) for op in ops][1] == ("replace", "bank", "oil") and len(ops) == 3
    assert ops[0].a == "The market rallied on" and ops[2].a.endswith("bank news, again.")


def test_substitutions_from_confusable_words_flip_towards_the_runner_up():
    texts = ["the goal was great", "shares of the club rose", "shares and goal", "a late goal", "shares rose"] * 4
    y_true = np.array([1, 1, 1, 1, 2] * 4)
    y_pred = np.array([1, 2, 2, 1, 2] * 4)  # sport texts with "shares" were predicted business
    assert substitution_candidates(texts, y_true, y_pred, 1, 2)[0] == "shares"
    text = "Fans saw the late goal at the stadium"
    values = registry.run("shap", planted, text, 1, max_evals=100).to_words(text).values
    subs = suggest_substitutions(planted, text, values, ["shares", "rose"], 1, 2)
    best = subs.iloc[0]
    assert (best["replace"], best["with"]) == ("goal", "shares") and bool(best["flips"]) and best["gain"] > 0.5
    assert "shares" in best["text"] and "goal" not in best["text"]


# ----------------------------------------------------------------------------------------------------- CLI


@pytest.fixture()
def saved_tfidf(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_CACHE_DIR", str(tmp_path / "cache"))
    from core.train import run

    run(tiny_dataset(), "tfidf", {}, name="tiny-tfidf")
    return "tiny-tfidf"


def test_cli_explain_contrast_and_trust(saved_tfidf, capsys):
    from core.cli import main

    text = "The coach saw the team win the match as stock prices fell"
    assert main(["explain", saved_tfidf, text, "--class", "Sports", "--contrast", "Business", "--trust",
                 "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "why “Sports” and not “Business”" in out and "(for Sports)" in out
    assert "comprehensiveness" in out and "deterministic" in out
    assert main(["explain", saved_tfidf, text, "--contrast", "Sports", "--class", "Sports"]) == 2
    assert "must differ" in capsys.readouterr().err
    assert main(["explain", saved_tfidf, text, "--contrast", "Nope"]) == 2


def test_cli_counterfactual_flip_compare_and_json(saved_tfidf, capsys):
    from core.cli import main

    text = "The coach saw the team win the match"
    assert main(["counterfactual", saved_tfidf, text, "--compare", text.replace("match", "market"),
                 "--max-edits", "6"]) == 0
    out = capsys.readouterr().out
    assert "minimal flip (flipped after" in out and "p(Sports):" in out
    assert "substitutions towards the runner-up" in out
    assert "[-match-]{+market+}" in out
    assert main(["counterfactual", saved_tfidf, text, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    flip = record["flip"]
    assert record["class"] == "Sports" and flip["flipped"]
    assert set(flip["removed"]) & {"coach", "team", "win", "match"}
    assert len(flip["path"]) == len(flip["removed"]) + 1 and record["compare"] is None
    assert main(["counterfactual", saved_tfidf, text, "--max-edits", "0"]) == 2


def test_cli_counterfactual_flips_a_chosen_label_of_a_multilabel_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEXTLAB_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("TEXTLAB_CACHE_DIR", str(tmp_path / "cache"))
    from core.cli import main
    from core.train import run

    run(tiny_dataset(multilabel=True), "tfidf", {}, name="tiny-ml")
    text = "The coach saw the team win the game as the market fell"
    assert main(["counterfactual", "tiny-ml", text, "--class", "Sports", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    flip = record["flip"]
    assert record["class"] == "Sports" and flip["was_predicted"] and flip["flipped"]
    assert set(flip["removed"]) <= {"coach", "team", "win", "game"} and flip["path"][-1] < 0.5
    assert record["substitutions"] is None  # no runner-up class for independent labels
