"""Declarative parameters: typing, ranges and clear errors for out-of-range training settings."""
import pytest

from core.params import Param, ParamError, parse_sets, resolve

PARAMS = [
    Param("epochs", 3, min=1, max=100),
    Param("lr", 1e-3, min=1e-7, max=1.0),
    Param("cell", "gru", choices=("rnn", "gru", "lstm")),
    Param("bidirectional", False),
    Param("words", [], type=list),
]


def test_defaults_and_coercion():
    out = resolve(PARAMS, parse_sets(["epochs=5", "lr=0.01", "bidirectional=true", "words=a, b"]))
    assert out == {"epochs": 5, "lr": 0.01, "cell": "gru", "bidirectional": True, "words": ["a", "b"]}


@pytest.mark.parametrize(
    "given, message",
    [
        ({"epochs": 0}, "epochs must be ≥ 1"),
        ({"lr": -0.1}, "lr must be ≥"),
        ({"lr": "nan"}, "NaN"),
        ({"epochs": "2.5"}, "cannot read"),
        ({"cell": "transformer"}, "not one of"),
        ({"bidirectional": "maybe"}, "cannot read"),
        ({"unknown": 1}, "unknown setting"),
    ],
)
def test_bad_settings_raise_clear_errors(given, message):
    with pytest.raises(ParamError, match=message):
        resolve(PARAMS, given)


def test_parse_sets_requires_equals():
    with pytest.raises(ParamError, match="key=value"):
        parse_sets(["epochs"])
