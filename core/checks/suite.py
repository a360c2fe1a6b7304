"""Test suites: a YAML file per dataset, parsed with `yaml.safe_load` only (a tag such as !!python/object is refused,
no code from the file ever runs) and validated into `Suite` / `CheckTest` records with every problem named by line
and field.

    version: 1
    dataset: ag_news
    seed: 0
    text_sets:                      # named lists of texts that tests share (or give `texts:` inline)
      sample: ["Oil prices rise ...", ...]
    tests:
      - name: typos                 # unique
        type: INV                   # INV: the prediction must not change
        perturbation: typos         # core.checks.perturb.PERTURBATIONS
        params: {n: 1}
        texts: sample               # a text set's name, or a list of texts
      - name: "World -> Sports: add words"
        type: DIR                   # DIR: the label's probability must move the expected way
        perturbation: add_words
        params: {words: [game, season]}
        texts: [...]
        expected: {label: Sports, direction: up, tolerance: 0.05}
      - name: sports template
        type: MFT                   # MFT: every filled template must get the expected label
        template: "The {team} won the match."
        fill: {team: [Lakers, Yankees]}
        expected: {label: Sports}
        max_cases: 100              # a seeded sample when the fill-ins multiply to more

Multi-label models: INV fails when the predicted label set changes, DIR reads the label's own probability, MFT
needs the label among the predicted ones.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ParamError
from .perturb import PERTURBATIONS

VERSION = 1
TYPES = ("INV", "DIR", "MFT")
DIRECTIONS = ("up", "down")
#: Limits keeping a suite something a page can edit and a run can finish: characters, tests, texts per test,
#: template cases per test, cases per suite.
MAX_CHARS, MAX_TESTS, MAX_TEXTS, MAX_CASES, MAX_TOTAL = 5_000_000, 200, 5_000, 5_000, 50_000
_TEST_KEYS = {"name", "type", "perturbation", "params", "texts", "expected", "template", "fill", "max_cases",
              "description"}
_TOP_KEYS = {"version", "dataset", "seed", "text_sets", "tests", "generated", "description"}


class SuiteError(ParamError):
    """A suite file is not valid; `problems` lists each one ("line 7, tests[0].type: ...")."""

    def __init__(self, problems: list[str], source: str = "the suite"):
        self.problems = problems
        shown = problems[:12] + ([f"... and {len(problems) - 12} more"] if len(problems) > 12 else [])
        super().__init__(f"{source} is not a valid test suite: " + "; ".join(shown))


@dataclass
class CheckTest:
    """One test. texts: the inputs of INV / DIR; template + fill (+ max_cases) make MFT's inputs;
    expected: DIR {label, direction, tolerance}, MFT {label}; INV needs none."""

    name: str
    type: str
    perturbation: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)
    template: str = ""
    fill: dict[str, list[str]] = field(default_factory=dict)
    max_cases: int = 200
    description: str = ""


@dataclass
class Suite:
    """A validated suite; `text` is the YAML it came from and `hash` (sha256 of it, 12 hex) keys its records."""

    dataset: str
    tests: list[CheckTest]
    seed: int = 0
    text: str = ""
    generated: dict[str, Any] = field(default_factory=dict)

    @property
    def hash(self) -> str:
        return suite_hash(self.text)


def suite_hash(text: str) -> str:
    """12 hex digits of sha256 over the suite's YAML text (what a check record is keyed by)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _lines(node: yaml.Node, path: str = "", out: dict[str, int] | None = None,
           seen: set[int] | None = None) -> dict[str, int]:
    """path ("tests[0].expected.label") -> 1-based line of its value, from the composed (not constructed) tree.
    A node reached again through an alias is not walked twice (an alias bomb stays linear)."""
    out = {} if out is None else out
    seen = set() if seen is None else seen
    out.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen:
        return out
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = f"{path}.{k.value}" if path else str(k.value)
            out[key] = k.start_mark.line + 1
            _lines(v, key, out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, f"{path}[{i}]", out, seen)
    return out


#: The C-accelerated safe loader when libyaml is there (same rules as yaml.SafeLoader, faster on big suites).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 50


def _depth(text: str) -> int:
    """Deepest nesting of mappings / lists, from the event stream (iterative: no recursion on hostile input)."""
    depth = deepest = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            deepest = max(deepest, depth)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return deepest


class _Problems:
    """Collects "line N, field: message" strings."""

    def __init__(self, lines: dict[str, int]):
        self.lines, self.items = lines, []

    def add(self, path: str, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:  # a missing field: name the line of its parent
            probe = probe.rsplit(".", 1)[0] if "." in probe else probe.split("[")[0] if "[" in probe else ""
        line = self.lines.get(probe)
        self.items.append(f"{'line ' + str(line) + ', ' if line else ''}{path or 'top level'}: {message}")


def _is_list_of_str(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _check_params(test: dict, path: str, p: _Problems, labels: list[str] | None) -> None:
    spec = PERTURBATIONS.get(test.get("perturbation"))
    if spec is None:
        p.add(f"{path}.perturbation", f"{test.get('perturbation')!r} is not one of {', '.join(PERTURBATIONS)}")
        return
    params = test.get("params") or {}
    if not isinstance(params, dict):
        p.add(f"{path}.params", "must be a mapping of setting: value")
        return
    for key, value in params.items():
        if key not in spec.params:
            p.add(f"{path}.params.{key}", f"unknown setting of {spec.name}; settings: "
                  f"{', '.join(spec.params) or 'none'}")
            continue
        kind = spec.params[key][0]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
        if kind is list:
            ok = _is_list_of_str(value) and bool(value)
        if kind is dict:
            ok = isinstance(value, dict) and bool(value) and all(isinstance(a, str) and isinstance(b, str)
                                                                 for a, b in value.items())
        if not ok:
            what = {list: "a non-empty list of words", dict: "a non-empty mapping word: word"}.get(kind, kind)
            p.add(f"{path}.params.{key}", f"must be {getattr(what, '__name__', what)}, got {value!r}"[:200])
        elif key in spec.choices and value not in spec.choices[key]:
            p.add(f"{path}.params.{key}", f"{value!r} is not one of {', '.join(spec.choices[key])}")
    for key, (_, default) in spec.params.items():
        if default is ... and key not in params:
            p.add(f"{path}.params.{key}", f"missing (required by {spec.name})")


def _check_expected(test: dict, path: str, p: _Problems, labels: list[str] | None) -> None:
    exp = test.get("expected")
    if not isinstance(exp, dict) or "label" not in exp:
        p.add(f"{path}.expected", f"{test['type']} tests need expected: {{label: ...}}")
        return
    if labels is not None and exp["label"] not in labels:
        p.add(f"{path}.expected.label", f"{exp['label']!r} is not a label of the model ({', '.join(labels)})")
    if test["type"] == "DIR":
        if exp.get("direction") not in DIRECTIONS:
            p.add(f"{path}.expected.direction", f"must be up or down, got {exp.get('direction')!r}")
        tol = exp.get("tolerance", 0.0)
        if not isinstance(tol, int | float) or isinstance(tol, bool) or not 0 <= tol < 1:
            p.add(f"{path}.expected.tolerance", f"must be a number in [0, 1), got {tol!r}")


def _check_template(test: dict, path: str, p: _Problems) -> None:
    if not isinstance(test.get("template"), str) or not test.get("template"):
        p.add(f"{path}.template", "MFT tests need a template text with {slots}")
        return
    fill = test.get("fill") or {}
    if not isinstance(fill, dict) or not all(isinstance(k, str) and _is_list_of_str(v) and v
                                             for k, v in fill.items()):
        p.add(f"{path}.fill", "must map each slot to a non-empty list of texts")
        return
    from .cases import slots

    for slot in slots(test["template"]):
        if slot not in fill:
            p.add(f"{path}.fill.{slot}", f"the template's slot {{{slot}}} has no fill-ins")
    mc = test.get("max_cases", 200)
    if not isinstance(mc, int) or isinstance(mc, bool) or not 1 <= mc <= MAX_CASES:
        p.add(f"{path}.max_cases", f"must be a whole number in [1, {MAX_CASES}]")


def _texts(test: dict, path: str, sets: dict, p: _Problems) -> list[str]:
    texts = test.get("texts")
    if isinstance(texts, str):
        if texts not in sets:
            p.add(f"{path}.texts", f"no text set named {texts!r} (text_sets: {', '.join(sets) or 'none'})")
            return []
        texts = sets[texts]
    if not _is_list_of_str(texts) or not texts:
        p.add(f"{path}.texts", "must be a non-empty list of texts or the name of a text set")
        return []
    if len(texts) > MAX_TEXTS:
        p.add(f"{path}.texts", f"{len(texts)} texts; at most {MAX_TEXTS} per test")
    return list(texts)


def _check_test(test: Any, i: int, sets: dict, p: _Problems, labels: list[str] | None) -> CheckTest | None:
    path = f"tests[{i}]"
    if not isinstance(test, dict):
        p.add(path, "each test must be a mapping (name, type, ...)")
        return None
    for key in test:
        if key not in _TEST_KEYS:
            p.add(f"{path}.{key}", f"unknown field; fields: {', '.join(sorted(_TEST_KEYS))}")
    name, kind = test.get("name"), test.get("type")
    if not isinstance(name, str) or not name.strip():
        p.add(f"{path}.name", "every test needs a name")
    if kind not in TYPES:
        p.add(f"{path}.type", f"{kind!r} is not one of {', '.join(TYPES)}")
        return None
    texts: list[str] = []
    if kind in ("INV", "DIR"):
        _check_params(test, path, p, labels)
        texts = _texts(test, path, sets, p)
    else:
        _check_template(test, path, p)
    if kind in ("DIR", "MFT"):
        _check_expected(test, path, p, labels)
    return CheckTest(name=str(name), type=kind, perturbation=str(test.get("perturbation") or ""),
                     params=dict(test.get("params") or {}), texts=texts, expected=dict(test.get("expected") or {}),
                     template=str(test.get("template") or ""), fill=dict(test.get("fill") or {}),
                     max_cases=int(test.get("max_cases", 200)) if isinstance(test.get("max_cases", 200), int)
                     else 200, description=str(test.get("description") or ""))


def parse_suite(text: str, labels: list[str] | None = None, source: str = "the suite") -> Suite:
    """Validate the YAML `text` (against the model's `labels` when given) -> Suite; SuiteError naming every
    problem otherwise. Only plain YAML (mappings, lists, strings, numbers) is accepted."""
    if len(text) > MAX_CHARS:
        raise SuiteError([f"{len(text):,} characters; at most {MAX_CHARS:,}"], source)
    try:
        if _depth(text) > MAX_DEPTH:
            raise SuiteError([f"the YAML is nested more than {MAX_DEPTH} levels deep"], source)
        data = yaml.load(text, Loader=_LOADER)  # a safe loader: plain YAML only, never a python/* tag
        lines = _lines(yaml.compose(text, Loader=_LOADER) or yaml.ScalarNode("", ""))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        why = getattr(e, "problem", None) or str(e)
        if "could not determine a constructor" in str(e):
            why = "only plain YAML is allowed (" + why + ")"
        raise SuiteError([f"{where}{why}"], source) from None
    p = _Problems(lines)
    if not isinstance(data, dict):
        raise SuiteError(["the file must be a mapping with version, dataset and tests"], source)
    for key in data:
        if key not in _TOP_KEYS:
            p.add(str(key), f"unknown field; fields: {', '.join(sorted(_TOP_KEYS))}")
    if data.get("version") != VERSION:
        p.add("version", f"must be {VERSION}, got {data.get('version')!r}")
    if not isinstance(data.get("dataset"), str) or not data.get("dataset"):
        p.add("dataset", "the dataset the suite is for (a name)")
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        p.add("seed", f"must be a whole number, got {seed!r}")
        seed = 0
    sets = data.get("text_sets") or {}
    if not isinstance(sets, dict) or not all(_is_list_of_str(v) for v in sets.values()):
        p.add("text_sets", "must map names to lists of texts")
        sets = {}
    tests_raw = data.get("tests")
    if not isinstance(tests_raw, list) or not tests_raw:
        p.add("tests", "a non-empty list of tests")
        tests_raw = []
    if len(tests_raw) > MAX_TESTS:
        p.add("tests", f"{len(tests_raw)} tests; at most {MAX_TESTS}")
    tests, seen = [], set()
    for i, raw in enumerate(tests_raw):
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            p.add(f"tests[{i}].name", f"{name!r} is used by another test; names must be unique")
        seen.add(name)
        if (test := _check_test(raw, i, sets, p, labels)) is not None:
            tests.append(test)
    total = sum(len(t.texts) if t.type != "MFT" else t.max_cases for t in tests)
    if total > MAX_TOTAL:
        p.add("tests", f"{total:,} cases in all; at most {MAX_TOTAL:,} per suite")
    if p.items:
        raise SuiteError(p.items, source)
    return Suite(dataset=data["dataset"], tests=tests, seed=seed, text=text,
                 generated=dict(data.get("generated") or {}))


def dump_suite(data: dict[str, Any]) -> str:
    """YAML text of a suite mapping (keys in the documented order, unicode kept, long texts unwrapped)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=None)
