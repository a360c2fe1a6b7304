"""Synthetic datasets shaped like a new user's files, for the defaults benchmark (issue 13, scripts/bench_defaults.py).

    python scripts/synthetic_sets.py --out DIR [--seed 0] [--only intents|long]

writes DIR/intents77_train.csv + DIR/intents77_test.csv and DIR/long5_train.csv + DIR/long5_test.csv (columns
text,label), read by the user-file path: `python -m core train --dataset DIR/intents77_train.csv --test-file
DIR/intents77_test.csv`. Seeded and deterministic: the same seed writes the same bytes. Never commit the output.

intents77 -- 77 short banking requests (~100 train + 30 test rows each, ~10k rows in all)
    Every intent is an (action, object) pair of 11 actions x 7 objects ("cancel" x "transfer" ->
    cancel_transfer). A request is an English template ("how do i {a} my {o}?", "{o} -- want to {a} it") filled
    with one of the action's paraphrases ("cancel", "call off", "stop", "revoke") and one of the object's
    ("transfer", "wire", "money transfer"), with optional greetings and endings.
    What keeps it honest:
    * overlapping intents: each intent shares its action with 6 others and its object with 10 others, so a
      single word never decides it; 8% of rows leave the object out ("i want to cancel it, please"): those can
      only be guessed from the action (an irreducible error for every model);
    * label noise: 4% of the training labels are moved to a sibling intent (same action or same object);
    * paraphrases the training split never shows: the last paraphrase of every action and object is held out of
      training; a test request uses the held-out action paraphrase with probability 7% and the held-out
      object paraphrase with probability 7% (~13% of test requests hold one: "terminate", "wire"). A model that knows English
      (MiniLM's pretraining) can map them; a bag of training words cannot -- the situation of a user whose
      customers phrase things differently from the examples. The other test requests use training
      paraphrases, where TF-IDF's exact word matching is as good as it gets. Paraphrases of different
      intents share words ("change" / "change the maximum for", "card" / "card code"), as real requests do.

long5 -- 5 classes of long English prose (1,000 train + 250 test rows, 500-25,000 characters, log-uniform)
    A document is a run of paragraphs: AG News articles (title + description) of one topic (World, Sports,
    Business, Sci/Tech) or, for the 5th class "Discussion", Reddit comments from GoEmotions. 25% of each
    document's snippets come from another class and sit anywhere, also at the start, so the class is the
    document's majority topic, spread through it, and the first 512 word pieces alone may mislead on long
    documents. Training documents are built from the sources' training splits and test documents from their
    test splits (no snippet is shared across the two). The sources are read at build time from the built-in
    datasets (../shared/data via core.data.load_dataset); nothing of them is committed.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# ------------------------------------------------------------------ intents77
#: action -> paraphrases (base-form verb phrases taking the object); the LAST one never appears in training
ACTIONS: dict[str, list[str]] = {
    "cancel": ["cancel", "call off", "stop", "revoke", "undo", "terminate"],
    "check": ["check", "track", "see the status of", "look up", "follow", "monitor"],
    "change": ["change", "update", "edit", "modify", "switch", "amend"],
    "dispute": ["dispute", "complain about", "challenge", "contest", "object to", "appeal"],
    "activate": ["activate", "turn on", "enable", "start using", "unlock", "switch on"],
    "setup": ["set up", "create", "open", "add", "register", "establish"],
    "refund": ["get a refund for", "get my money back for", "reverse", "refund", "claim back", "recover the money from"],
    "fee": ["understand the fee on", "ask about the charge for", "see the cost of", "find out the price of",
            "question the fee for", "query the commission on"],
    "verify": ["verify", "confirm", "validate", "prove", "authenticate", "certify"],
    "fix": ["fix", "repair", "sort out", "solve a problem with", "troubleshoot", "resolve an issue with"],
    "limit": ["raise the limit on", "increase the limit of", "change the maximum for", "lift the cap on",
              "lower the limit on", "adjust the ceiling of"],
}
#: object -> paraphrases (noun phrases); the LAST one never appears in training
OBJECTS: dict[str, list[str]] = {
    "card": ["card", "debit card", "bank card", "visa card", "plastic"],
    "transfer": ["transfer", "bank transfer", "money transfer", "payment to a friend", "wire"],
    "direct_debit": ["direct debit", "standing order", "recurring payment", "automatic payment", "mandate"],
    "pin": ["pin", "pin code", "pin number", "card code", "passcode"],
    "account": ["account", "bank account", "current account", "savings account", "profile"],
    "top_up": ["top up", "top-up", "balance top up", "deposit", "reload"],
    "withdrawal": ["cash withdrawal", "atm withdrawal", "withdrawal", "cash out", "atm transaction"],
}
TEMPLATES = [
    "how do i {a} my {o}?", "i want to {a} my {o}", "can you help me {a} my {o}", "i need to {a} the {o}",
    "is it possible to {a} my {o}", "please {a} my {o}", "what do i do to {a} my {o}?", "{o}: how can i {a} it?",
    "help me {a} the {o} i made yesterday", "where in the app can i {a} my {o}", "i would like to {a} my {o} today",
    "could you {a} my {o} for me", "why can't i {a} my {o}?", "my {o} -- i have to {a} it", "trying to {a} my {o}",
]
VAGUE = ["i want to {a} it, please", "how can i {a} that?", "need to {a} this asap", "can i {a} it now?"]
OPENERS = ["", "", "", "hi, ", "hello, ", "hey, ", "good morning, ", "quick question: "]
CLOSERS = ["", "", "", " thanks", " thank you", " please", " asap", " it is urgent"]
VAGUE_SHARE, NOISE_SHARE, HELD_OUT_SHARE = 0.08, 0.04, 0.07


def intent_labels() -> list[str]:
    """The 77 intent names, action_object, in a fixed order."""
    return [f"{a}_{o}" for a in ACTIONS for o in OBJECTS]


def _request(rng: np.random.Generator, action: str, obj: str, test: bool) -> str:
    acts, objs = ACTIONS[action], OBJECTS[obj]
    # every paraphrase but the last; a test request takes the held-out last one with probability HELD_OUT_SHARE
    a = acts[-1] if test and rng.random() < HELD_OUT_SHARE else acts[int(rng.integers(len(acts) - 1))]
    o = objs[-1] if test and rng.random() < HELD_OUT_SHARE else objs[int(rng.integers(len(objs) - 1))]
    vague = rng.random() < VAGUE_SHARE
    body = (VAGUE[int(rng.integers(len(VAGUE)))] if vague else TEMPLATES[int(rng.integers(len(TEMPLATES)))])
    text = OPENERS[int(rng.integers(len(OPENERS)))] + body.format(a=a, o=o) + CLOSERS[int(rng.integers(len(CLOSERS)))]
    return text[0].upper() + text[1:]


def _sibling(rng: np.random.Generator, action: str, obj: str) -> str:
    """A random intent sharing the action or the object of (action, obj)."""
    if rng.random() < 0.5:
        return f"{action}_{[o for o in OBJECTS if o != obj][int(rng.integers(len(OBJECTS) - 1))]}"
    return f"{[a for a in ACTIONS if a != action][int(rng.integers(len(ACTIONS) - 1))]}_{obj}"


def intents(n_train: int = 100, n_test: int = 30, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(train rows, test rows) of the 77-intent set, n_train / n_test rows per intent; rows {text, label}.
    Label noise (NOISE_SHARE of the training rows moved to a sibling intent) is in the training rows only."""
    rng = np.random.default_rng(seed)

    def rows(n: int, test: bool) -> list[dict]:
        out = []
        for action in ACTIONS:
            for obj in OBJECTS:
                for _ in range(n):
                    label = f"{action}_{obj}"
                    text = _request(rng, action, obj, test)
                    if not test and rng.random() < NOISE_SHARE:
                        label = _sibling(rng, action, obj)
                    out.append({"text": text, "label": label})
        return [out[i] for i in rng.permutation(len(out))]

    return rows(n_train, False), rows(n_test, True)


# ------------------------------------------------------------------ long5
DISCUSSION = "Discussion"
MIN_CHARS, MAX_CHARS = 500, 25_000
FOREIGN_SHARE = 0.25


def log_uniform_lengths(rng: np.random.Generator, n: int, lo: int = MIN_CHARS, hi: int = MAX_CHARS) -> np.ndarray:
    """n target lengths in characters, log-uniform on [lo, hi]."""
    return np.exp(rng.uniform(math.log(lo), math.log(hi), n)).astype(int)


def _document(rng: np.random.Generator, pools: dict[str, Sequence[str]], label: str, target: int) -> str:
    """Paragraphs of `label`'s pool until `target` characters (cut at a word boundary, at most `target`), a
    FOREIGN_SHARE of them from other classes, placed anywhere."""
    others = [c for c in pools if c != label]
    parts: list[str] = []
    size = 0
    while size < target:
        cls = others[int(rng.integers(len(others)))] if rng.random() < FOREIGN_SHARE else label
        pool = pools[cls]
        snippet = " ".join(str(pool[int(rng.integers(len(pool)))]).split())
        parts.append(snippet)
        size += len(snippet) + 2
    text = "\n\n".join(parts)
    if len(text) > target:
        text = text[:target].rsplit(" ", 1)[0]
    return text


def long_documents(pools: dict[str, Sequence[str]], n: int, seed: int) -> list[dict]:
    """n documents {text, label}, classes in turn (balanced), lengths log-uniform in [MIN_CHARS, MAX_CHARS];
    `pools`: class -> snippets (at least two classes)."""
    rng = np.random.default_rng(seed)
    labels = list(pools)
    lengths = log_uniform_lengths(rng, n)
    rows = [{"text": _document(rng, pools, labels[i % len(labels)], int(lengths[i])), "label": labels[i % len(labels)]}
            for i in range(n)]
    return [rows[i] for i in rng.permutation(n)]


def source_pools() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(train pools, test pools): class -> snippets; AG News's four topics and GoEmotions's comments as
    'Discussion', from each source's training / test split (built-in datasets, read now)."""
    from core.data import load_dataset

    ag, ge = load_dataset("ag_news"), load_dataset("goemotions")
    out = []
    for ag_split, ge_split in ((ag.train, ge.train), (ag.test, ge.test)):
        y = np.asarray(ag_split.y)
        pools = {name: [ag_split.texts[i] for i in np.flatnonzero(y == c)] for c, name in enumerate(ag.labels)}
        pools[DISCUSSION] = [t for t in ge_split.texts if len(t) >= 40]  # one-word replies say nothing
        out.append(pools)
    return out[0], out[1]


def long_texts(n_train: int = 1000, n_test: int = 250, seed: int = 0,
               pools: tuple[dict[str, list[str]], dict[str, list[str]]] | None = None) -> tuple[list[dict], list[dict]]:
    """(train rows, test rows) of the long-text set; `pools` = (train pools, test pools), default source_pools()."""
    train_pools, test_pools = pools or source_pools()
    return long_documents(train_pools, n_train, seed), long_documents(test_pools, n_test, seed + 1)


# ------------------------------------------------------------------ files
def write_csv(rows: list[dict], path: Path) -> Path:
    """rows {text, label} -> CSV with a header text,label (every field quoted: texts hold commas and newlines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["text", "label"], quoting=csv.QUOTE_ALL)
        w.writeheader()
        w.writerows(rows)
    return path


BUILDERS = {"intents77": intents, "long5": long_texts}


def build(out: Path, seed: int = 0, only: Sequence[str] = tuple(BUILDERS)) -> dict[str, tuple[Path, Path]]:
    """Write the chosen sets under `out`; returns {name: (train csv, test csv)}."""
    written = {}
    for name in only:
        train, test = BUILDERS[name](seed=seed)
        written[name] = (write_csv(train, out / f"{name}_train.csv"), write_csv(test, out / f"{name}_test.csv"))
    return written


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", choices=list(BUILDERS), default=list(BUILDERS))
    args = ap.parse_args(argv)
    for name, (train, test) in build(args.out, args.seed, args.only).items():
        print(f"{name}: {train} ({sum(1 for _ in csv.reader(train.open(encoding='utf-8'))) - 1} rows), {test}")


if __name__ == "__main__":
    main()
