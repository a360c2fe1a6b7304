"""core.checks on planted models (no artifacts): INV a keyword model must fail, a robust case passes, DIR direction,
MFT, multi-label, YAML validation and refusal of tags, the default suite from planted confusions, perturbations."""
from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pytest

from core.checks import PERTURBATIONS, SuiteError, Target, parse_suite, run_suite
from core.checks.cases import cases_of
from core.checks.defaults import default_suite
from core.checks.suite import dump_suite


class Keyword:
    """p(label) from whole-word keyword counts (lower-cased): score_k = sum of weights[k][word]. Duck-typed like
    core.base.TextClassifier as far as core.checks.Target.of reads it (predict_proba, labels, multilabel,
    threshold)."""

    threshold = 0.5

    def __init__(self, labels: list[str], weights: dict[str, dict[str, float]], multilabel: bool = False):
        self.labels, self.weights, self.multilabel = labels, weights, multilabel

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for t in texts:
            words = t.lower().replace("!", " ").replace(".", " ").split()
            s = np.array([sum(self.weights.get(lab, {}).get(w, 0.0) for w in words) for lab in self.labels])
            out.append(1 / (1 + np.exp(-s)) if self.multilabel else np.exp(s) / np.exp(s).sum())
        return np.array(out)


SPORT_TECH = Keyword(["sport", "tech"], {"sport": {"goal": 3.0}, "tech": {"chip": 3.0, "oil": -2.0}})


def suite(*tests: dict, sets: dict | None = None, dataset: str = "toy") -> str:
    return dump_suite({"version": 1, "dataset": dataset, "seed": 0, "text_sets": sets or {}, "tests": list(tests)})


def run(text: str, model: Keyword = SPORT_TECH) -> dict:
    return {r["name"]: r for r in run_suite(parse_suite(text, model.labels), Target.of(model))}


def test_inv_typo_in_the_keyword_fails_and_case_passes():
    texts = ["goal", "Goal!", "chip", "CHIP."]
    res = run(suite({"name": "typo", "type": "INV", "perturbation": "typos", "texts": "t"},
                    {"name": "lower", "type": "INV", "perturbation": "case", "params": {"mode": "lower"},
                     "texts": "t"}, sets={"t": texts}))
    typo = res["typo"]
    # a typo always lands in the keyword (the only word): "goal" -> "ogal" leaves no evidence -> 50/50 -> "sport"
    # stays for ties, so only the texts whose label needed the keyword against the tie-break can flip
    assert typo["cases"] == 4 and typo["failed"] == 2 and typo["failure_rate"] == 0.5
    assert {e["original"].lower().strip("!.") for e in typo["examples"]} == {"chip"}
    assert all(e["before"] == "tech" and e["after"] == "sport" for e in typo["examples"])
    # the model lower-cases its input: case changes never matter; "chip" is lower already (skipped)
    assert res["lower"]["failed"] == 0 and res["lower"]["cases"] == 2 and res["lower"]["skipped"] == 2


def test_dir_direction_on_a_planted_model():
    texts = ["the chip market", "a goal and a chip", "news today"]
    up = {"name": "oil up", "type": "DIR", "perturbation": "add_words", "params": {"words": ["oil"]}, "texts": "t",
          "expected": {"label": "tech", "direction": "up"}}
    down = dict(up, name="oil down", expected={"label": "tech", "direction": "down"})
    removed = {"name": "no chip", "type": "DIR", "perturbation": "remove_words", "params": {"words": ["chip"]},
               "texts": "t", "expected": {"label": "tech", "direction": "down", "tolerance": 0.0}}
    res = run(suite(up, down, removed, sets={"t": texts}))
    assert res["oil up"]["failed"] == 3 and res["oil up"]["failure_rate"] == 1.0  # "oil" lowers p(tech)
    assert res["oil down"]["failed"] == 0
    assert res["no chip"]["cases"] == 2 and res["no chip"]["skipped"] == 1 and res["no chip"]["failed"] == 0
    ex = res["oil up"]["examples"][0]
    assert ex["p_after"] < ex["p_before"] and "p(tech)" in ex["change"] and ex["perturbed"].endswith("oil")


def test_dir_tolerance_forgives_small_moves():
    weak = Keyword(["sport", "tech"], {"tech": {"chip": 1.0, "oil": -0.01}})
    test = {"name": "t", "type": "DIR", "perturbation": "add_words", "params": {"words": ["oil"]},
            "texts": ["chip"], "expected": {"label": "tech", "direction": "up", "tolerance": 0.05}}
    assert run(suite(test), weak)["t"]["failed"] == 0
    test["expected"]["tolerance"] = 0.0
    assert run(suite(test), weak)["t"]["failed"] == 1


def test_mft_templates_and_sampling():
    mft = {"name": "sport", "type": "MFT", "template": "What a {thing} by {who}", "expected": {"label": "sport"},
           "fill": {"thing": ["goal", "chip", "save"], "who": ["Anna", "Bob"]}}
    res = run(suite(mft))["sport"]
    assert res["cases"] == 6 and res["failed"] == 2  # the "chip" fillings are tech ("save": a tie, sport first)
    assert {e["perturbed"] for e in res["examples"]} == {"What a chip by Anna", "What a chip by Bob"}
    assert all(e["after"] == "tech" and e["change"] == "expected sport" for e in res["examples"])
    capped = parse_suite(suite(dict(mft, max_cases=4))).tests[0]
    a, b = cases_of(capped, 0)[0], cases_of(capped, 0)[0]
    assert len(a) == 4 and a == b  # seeded sample, same every time
    fmt = parse_suite(suite(dict(mft, template="{thing.__class__} {who}", fill={"thing": ["x"], "who": ["y"]})))
    assert [c.text for c in cases_of(fmt.tests[0], 0)[0]] == ["{thing.__class__} y"]  # never str.format


def test_multilabel_inv_set_and_dir_probability():
    ml = Keyword(["rain", "wind"], {"rain": {"wet": 4.0}, "wind": {"gust": 4.0}}, multilabel=True)
    ml.threshold = 0.6  # no keyword: sigmoid(0) = 0.5, not predicted
    inv = {"name": "typo", "type": "INV", "perturbation": "swap_words", "params": {"pairs": {"gust": "gsut"}},
           "texts": ["wet gust", "wet", "gust"]}
    dir_up = {"name": "more rain", "type": "DIR", "perturbation": "add_words", "params": {"words": ["wet"]},
              "texts": ["gust", "calm"], "expected": {"label": "rain", "direction": "up"}}
    mft = {"name": "both", "type": "MFT", "template": "{a} and gust", "fill": {"a": ["wet", "dry"]},
           "expected": {"label": "wind"}}
    res = run(suite(inv, dir_up, mft), ml)
    assert res["typo"]["cases"] == 2 and res["typo"]["failed"] == 2  # {rain, wind} -> {rain}; {wind} -> {}
    assert {e["after"] for e in res["typo"]["examples"]} == {"rain", "(none)"}
    assert res["more rain"]["failed"] == 0 and res["more rain"]["cases"] == 2
    assert res["both"]["failed"] == 0  # multi-label: "wind" among the predicted labels is enough


def problems(text: str, labels=None) -> list[str]:
    with pytest.raises(SuiteError) as e:
        parse_suite(text, labels)
    return e.value.problems


def test_validation_names_line_and_field():
    text = """version: 1
dataset: toy
tests:
  - name: a
    type: FOO
  - name: b
    type: INV
    perturbation: typoz
    texts: [x]
  - name: c
    type: DIR
    perturbation: add_words
    params: {words: [oil], colour: red}
    texts: nope
    expected: {label: cars, direction: sideways}
  - name: c
    type: MFT
    template: "{x} {y}"
    fill: {x: [a]}
"""
    got = problems(text, ["sport", "tech"])
    joined = "\n".join(got)
    assert "line 5, tests[0].type: 'FOO' is not one of INV, DIR, MFT" in joined
    assert "line 8, tests[1].perturbation: 'typoz' is not one of" in joined
    assert "line 13, tests[2].params.colour: unknown setting of add_words" in joined
    assert "line 14, tests[2].texts: no text set named 'nope'" in joined
    assert "line 15, tests[2].expected.label: 'cars' is not a label of the model (sport, tech)" in joined
    assert "tests[2].expected.direction: must be up or down" in joined
    assert "tests[3].fill.y: the template's slot {y} has no fill-ins" in joined
    assert "tests[3].expected: MFT tests need expected" in joined
    assert "tests[3].name: 'c' is used by another test" in joined
    assert problems("version: 2\ndataset: toy\ntests: []\n") == ["line 1, version: must be 1, got 2",
                                                                "line 3, tests: a non-empty list of tests"]
    syntax = problems("version: 1\ntests:\n  - name: [unclosed\n")
    assert len(syntax) == 1 and syntax[0].startswith("line ")
    assert "not a valid test suite" in str(SuiteError(syntax, "suite.yaml")) and "suite.yaml" in str(
        SuiteError(syntax, "suite.yaml"))


def test_a_python_tag_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    for tag in (f'!!python/object/apply:os.system ["touch {marker}"]', "!!python/name:os.system",
                f'!!python/object/new:subprocess.Popen [["touch", "{marker}"]]'):
        got = problems(f"version: 1\ndataset: toy\ntests:\n  - name: x\n    type: {tag}\n")
        assert len(got) == 1 and "only plain YAML is allowed" in got[0] and got[0].startswith("line 5")
    assert not marker.exists()


def test_alias_bombs_deep_nesting_and_huge_suites_are_refused_quickly():
    import time

    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh",
                                                                                                "bcdefghi"))
    start = time.perf_counter()
    assert "unknown field" in problems("version: 1\ndataset: toy\ntests: []\n" + bomb)[0]
    assert time.perf_counter() - start < 5  # 10^9 leaves if walked naively
    assert problems("[" * 60 + "]" * 60) == ["the YAML is nested more than 50 levels deep"]
    deep = problems("[" * 100_000 + "]" * 100_000)  # libyaml stops it first; either way one clear line
    assert len(deep) == 1 and "nest" in deep[0]
    many = [{"name": f"t{i}", "type": "INV", "perturbation": "typos", "texts": "big"} for i in range(51)]
    got = problems(suite(*many, sets={"big": ["x y"] * 1000}))
    assert len(got) == 1 and got[0].endswith(", tests: 51,000 cases in all; at most 50,000 per suite")


def test_perturbations_are_seeded_and_return_none_when_they_do_not_apply():
    P = PERTURBATIONS
    r = random.Random(0)
    assert P["names"]("the will of the market", r) is None  # lower-case "will" is not a name
    assert P["names"]("Anna met Anna", r).split(" met ") == [P["names"]("Anna met Anna", random.Random(0))
                                                              .split(" met ")[0]] * 2
    assert P["numbers"]("no digits", r) is None
    huge = P["numbers"]("a " + "9" * 40 + " b", r)  # never builds a candidate list
    assert huge and huge != "a " + "9" * 40 + " b"
    assert P["contractions"]("it is not so", r) == "it's not so" or P["contractions"]("it is not so", r) == \
        "it isn't so"
    assert P["contractions"]("It isn't", r) == "It is not"
    assert P["remove_words"]("no match", r, words=["oil"]) is None
    assert P["swap_words"]("Oil and oil", r, pairs={"oil": "gas"}) == "Gas and gas"
    assert P["places"]("Flights to Paris from Japan", random.Random(1)) not in (None, "Flights to Paris from Japan")
    assert P["punctuation"]("Done.", r) == "Done" and P["punctuation"]("Done", r) == "Done."
    t = {"name": "t", "type": "INV", "perturbation": "typos", "params": {"n": 2},
         "texts": ["one two three", "alpha beta", "zz"]}
    test = parse_suite(suite(t)).tests[0]
    cases, skipped = cases_of(test, 7)
    assert cases == cases_of(test, 7)[0] and skipped == 1  # "zz": no swap changes it
    assert cases != cases_of(test, 8)[0]


def planted_predictions(n: int = 240):
    """3 classes; texts of class 0 containing "trade" are predicted as class 2 (the planted confusion)."""
    rng = random.Random(0)
    topics = [["game", "team", "coach"], ["chip", "code", "app"], ["bank", "stock", "price"]]
    texts, y, pred = [], [], []
    for i in range(n):
        k = i % 3
        words = [rng.choice(topics[k]) for _ in range(3)] + ["the", "of"]
        planted = k == 0 and i % 2 == 0
        if planted:
            words += ["trade", "deal"]
        if i % 7 == 0:
            words += ["John", "in", "London", str(10 + i)]
        texts.append(" ".join(words))
        y.append(k)
        pred.append(2 if planted else k)
    return texts, np.array(y), np.array(pred)


def test_default_suite_from_planted_confusions():
    texts, y, pred = planted_predictions()
    text = default_suite("toy", texts, y, pred, ["sport", "tech", "money"], n_sample=20, n_specific=5, n_words=3)
    s = parse_suite(text, ["sport", "tech", "money"])
    names = [t.name for t in s.tests]
    assert names[:3] == ["typos", "punctuation", "case"] and {"names", "numbers", "places"} <= set(names)
    assert "contractions" not in names  # applies to no text: left out
    add, remove = (t for t in s.tests if t.name.startswith("sport → money"))
    assert "trade" in add.params["words"] and add.expected == {"label": "money", "direction": "up",
                                                               "tolerance": 0.05}
    assert remove.expected["direction"] == "down" and all("trade" in t or "deal" in t for t in remove.texts)
    assert len(s.tests[0].texts) == 20 and len({t for t in s.tests[0].texts}) == 20
    assert default_suite("toy", texts, y, pred, ["sport", "tech", "money"], n_sample=20, n_specific=5).split(
        "generated:")[0] == text.split("generated:")[0]  # seeded


def test_default_suite_multilabel_uses_false_positives():
    texts, y, pred = planted_predictions()
    y2 = np.eye(3, dtype=np.int64)[y]
    p2 = y2.copy()
    p2[pred == 2, 2] = 1  # the planted texts also get "money" predicted
    s = parse_suite(default_suite("toy", texts, y2, p2, ["sport", "tech", "money"], n_sample=10, n_specific=3))
    dirs = [t for t in s.tests if t.type == "DIR"]
    assert [t.name for t in dirs] == ["not money → money: add its words", "not money → money: remove its words"]
    assert "trade" in dirs[0].params["words"]


def test_default_suite_of_an_empty_test_split_is_refused():
    from core.errors import ParamError

    with pytest.raises(ParamError, match="no test can be built for toy"):
        default_suite("toy", [], np.array([], dtype=np.int64), np.array([], dtype=np.int64), ["a", "b"])
    only_mft = [{"name": "m", "type": "MFT", "template": "{x}", "fill": {"x": ["a"]}, "expected": {"label": "a"}}]
    s = parse_suite(default_suite("toy", [], np.array([], dtype=np.int64), np.array([], dtype=np.int64), ["a", "b"],
                                  templates=only_mft))
    assert [t.name for t in s.tests] == ["m"]
