"""The gateway's /openapi.json: the services' documents merged into one.

Two services may name a component alike (automations' `ActionOut` is a rule action, pilotage's a
proposed action): a later one must not overwrite the earlier. A component whose name is taken by a
different definition is renamed `<service>.<name>` and every `$ref` of that service's document
follows it; identical definitions (the shared `Error` response) are kept once."""
from __future__ import annotations


def _rewrite(node, renames: dict[str, str]):
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value in renames:
                out[key] = renames[value]
            else:
                out[key] = _rewrite(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite(v, renames) for v in node]
    return node


def merge(doc: dict, part: dict, service: str) -> None:
    """Add `part` (one service's document) to `doc`: its public paths and its components."""
    components = doc.setdefault("components", {})
    renames: dict[str, str] = {}
    for kind, items in (part.get("components") or {}).items():
        taken = components.get(kind, {})
        for name, definition in (items or {}).items():
            if name in taken and taken[name] != definition:
                renames[f"#/components/{kind}/{name}"] = f"#/components/{kind}/{service}.{name}"
    if renames:
        part = _rewrite(part, renames)
    for kind, items in (part.get("components") or {}).items():
        target = components.setdefault(kind, {})
        for name, definition in (items or {}).items():
            key = name if f"#/components/{kind}/{name}" not in renames else f"{service}.{name}"
            target[key] = definition
    for path, ops in (part.get("paths") or {}).items():
        if not path.startswith("/internal"):
            doc.setdefault("paths", {}).setdefault(path, {}).update(ops)
