"""Explainers a compressed variant cannot run itself run on its fp32 ancestor, and say so.

An int8 ONNX Runtime variant (or a torch int8 one) has no gradients and, on ONNX, no attention weights; integrated
gradients and attention views then use the nearest ancestor in the lineage (manifest "parent", core.lineage) that
declares what the explainer needs (normally the fp32 parent it was quantized from). The attribution's
`extra["notice"]` names that model, so the CLI and every page that shows notices say which model was explained.

    target, notice = explain_target("ig", "teacher-int8")   # -> ("teacher", "integrated gradients ran on ...")
"""
from __future__ import annotations

from .registry import Explainer, get


def capable_ancestor(name: str, needs: frozenset[str]) -> str | None:
    """The nearest ancestor of artifact `name` (not itself) whose manifest declares every capability in `needs`."""
    from ..artifacts import ArtifactError, get_artifact

    seen = {name}
    try:
        parent = get_artifact(name).parent
        while parent and parent not in seen:
            seen.add(parent)
            info = get_artifact(parent)
            if not info.broken and needs <= frozenset(info.capabilities):
                return parent
            parent = info.parent
    except ArtifactError:
        return None  # a deleted ancestor ends the chain
    return None


def explain_target(method: str, name: str) -> tuple[str, str | None]:
    """(the artifact explainer `method` runs on for model `name`, a notice when that is an ancestor)."""
    from ..artifacts import get_artifact

    e: Explainer = get(method)
    if e.supports(frozenset(get_artifact(name).capabilities)):
        return name, None
    parent = capable_ancestor(name, e.requires)
    if parent is None:
        return name, None  # the registry raises its CapabilityError on the model itself
    return parent, (f"{e.title} ran on {parent!r}, the fp32 model {name!r} was built from: {name!r} has no "
                    f"{', '.join(sorted(e.requires - frozenset(get_artifact(name).capabilities)))}")


def available_for(name: str) -> list[Explainer]:
    """Explainers for model `name`: its own, then those its capable ancestors run for it (order of `available`)."""
    from ..artifacts import get_artifact
    from .registry import EXPLAINERS, available

    own = frozenset(get_artifact(name).capabilities)
    extra = {e.name for e in EXPLAINERS.values() if not e.supports(own) and capable_ancestor(name, e.requires)}
    caps = own | {c for n in extra for c in EXPLAINERS[n].requires}
    return available(caps)
