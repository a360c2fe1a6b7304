"""Declarative hyper-parameters: each family lists its `Param`s once; the CLI (`--set k=v`), the
Train page widgets and range validation all come from that list."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ParamError  # noqa: F401 - re-exported: callers import it from here


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None   # closed set -> selectbox
    min: float | None = None                 # inclusive bounds for numbers
    max: float | None = None
    type: type | None = None                 # defaults to type(default); list -> comma separated
    advanced: bool = False                   # hidden in an expander on the Train page
    multi: bool = False                      # value is a list of choices (multiselect)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> type:
        return self.type or type(self.default)

    def coerce(self, value: Any) -> Any:
        """Convert `value` (possibly a CLI string) to this parameter's type and check its range."""
        t = self.kind
        try:
            if value is None:
                v = None
            elif t is bool:
                v = value if isinstance(value, bool) else str(value).strip().lower() in {"1", "true", "yes", "on"}
                if not isinstance(value, bool) and str(value).strip().lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                    raise ValueError(value)
            elif t is list:
                v = [s.strip() for s in value.split(",") if s.strip()] if isinstance(value, str) else list(value)
            elif t is int:
                f = float(value)
                if not f.is_integer():
                    raise ValueError(value)
                v = int(f)
            elif t is float:
                v = float(value)
            else:
                v = t(value)
        except (TypeError, ValueError) as e:
            raise ParamError(f"{self.name}: cannot read {value!r} as {t.__name__}") from e
        if v is None:
            return v
        if self.choices is not None:
            items = v if (self.multi or t is list) else [v]
            bad = [x for x in items if x not in self.choices]
            if bad:
                raise ParamError(f"{self.name}: {bad[0]!r} is not one of {list(self.choices)}")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if v != v:  # NaN
                raise ParamError(f"{self.name}: NaN is not allowed")
            if self.min is not None and v < self.min:
                raise ParamError(f"{self.name} must be ≥ {self.min} (got {v})")
            if self.max is not None and v > self.max:
                raise ParamError(f"{self.name} must be ≤ {self.max} (got {v})")
        return v


def resolve(params: list[Param], given: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overlaid with `given`, every value coerced and range-checked; unknown keys raise."""
    given = dict(given or {})
    by_name = {p.name: p for p in params}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise ParamError(f"unknown setting(s) {unknown}; known: {sorted(by_name)}")
    return {p.name: p.coerce(given.get(p.name, p.default)) for p in params}


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    """['a=1', 'b=x'] -> {'a': '1', 'b': 'x'} (values stay strings; `resolve` types them)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ParamError(f"--set expects key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


# ---------------------------------------------------------------------------------------------- forms
# What the Train and Compression pages do with the values of their settings widgets (core.params.Param each).

def resolve_for(kind: str, params: list[Param], values: dict[str, Any]) -> dict[str, Any]:
    """`resolve`, then the family's own cross-setting checks (`check_params` of family `kind`, if it has one),
    so a job never starts doomed. ParamError with the reason otherwise."""
    from .models import family

    resolved = resolve(list(params), values)
    check = getattr(family(kind), "check_params", None)
    if check is not None:
        check(dict(resolved))
    return resolved


def _same(a: Any, b: Any) -> bool:
    """Equal, or equal lists once items are strings (list settings come back from text inputs as strings)."""
    return a == b or (isinstance(a, list) and isinstance(b, list) and list(map(str, a)) == list(map(str, b)))


def changed_settings(params: list[Param], resolved: dict[str, Any]) -> dict[str, Any]:
    """The settings of `resolved` that differ from their defaults: what goes on a job's command line."""
    return {p.name: resolved[p.name] for p in params if p.name in resolved and not _same(resolved[p.name], p.default)}


def parse_key_values(text: str, what: str = "setting") -> dict[str, str]:
    """"key=value" lines (blank lines skipped) -> {key: value}, values still strings; ParamError on a bad line."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip():
            k, sep, v = line.partition("=")
            if not sep:
                raise ParamError(f"{what} {line.strip()!r} is not key=value")
            out[k.strip()] = v.strip()
    return out


def form_settings(params: list[Param], values: dict[str, Any], extra: str = "") -> dict[str, Any]:
    """Widget values -> the settings a job gets: empty values dropped, `extra` "key=value" lines added (open
    settings such as a student family's), comma-separated list settings split, values equal to the default dropped
    (a short command line). Values are not coerced here: the job's own `resolve` does that."""
    settings = {k: v for k, v in values.items() if v is not None and v != "" and v != []}
    settings.update(parse_key_values(extra, "student setting"))
    for p in params:  # list settings come back from text inputs as "a, b"
        if p.kind is list and isinstance(settings.get(p.name), str):
            settings[p.name] = [s.strip() for s in settings[p.name].split(",") if s.strip()]
    defaults = {p.name: p.default for p in params}
    return {k: v for k, v in settings.items() if k not in defaults or v != defaults[k]}
