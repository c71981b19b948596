"""`kubectl kustomize`, for the subset of kustomize deploy/k8s uses, in Python: so the overlays are
rendered and validated where kubectl is absent (a clean CI runner). tests/test_k8s.py checks that
both renderings agree when kubectl is there.

Supported: `resources` (files and directories), `components`, `namespace`, `images` (newName,
newTag), and `patches` given as JSON 6902 operations with a `target` (kind, name, labelSelector
of `key=value` pairs). Anything else raises: use it in deploy/k8s only once it is added here.

    python -m devtools.kustomize deploy/k8s/overlays/prod     # prints the YAML stream
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import yaml

KNOWN = {"apiVersion", "kind", "resources", "components", "namespace", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass"}


def build(directory: str | Path) -> list[dict]:
    """The resources `kubectl kustomize <directory>` outputs (in no particular order)."""
    return _build(Path(directory), expect="Kustomization")


def _load_kustomization(directory: Path) -> dict:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).exists():
            return yaml.safe_load((directory / name).read_text(encoding="utf-8")) or {}
    raise FileNotFoundError(f"no kustomization in {directory}")


def _build(directory: Path, *, expect: str, resources: list[dict] | None = None) -> list[dict]:
    k = _load_kustomization(directory)
    unknown = set(k) - KNOWN
    if unknown:
        raise ValueError(f"{directory}: kustomize fields not supported by devtools.kustomize: {sorted(unknown)}")
    if k.get("kind", "Kustomization") != expect:
        raise ValueError(f"{directory}: expected a {expect}, found {k.get('kind')}")
    out = list(resources or [])
    for entry in k.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            out += _build(path, expect="Kustomization")
        else:
            out += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    for entry in k.get("components", []):
        out = _build((directory / entry).resolve(), expect="Component", resources=out)
    for patch in k.get("patches", []):
        _patch(out, patch, directory)
    if k.get("namespace"):
        for doc in out:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = k["namespace"]
    for image in k.get("images", []):
        _set_image(out, image)
    return out


def _selected(doc: dict, target: dict) -> bool:
    unknown = set(target) - {"kind", "name", "labelSelector"}
    if unknown:
        raise ValueError(f"patch target fields not supported: {sorted(unknown)}")
    if "kind" in target and doc.get("kind") != target["kind"]:
        return False
    if "name" in target and doc["metadata"].get("name") != target["name"]:
        return False
    if "labelSelector" in target:
        labels = doc["metadata"].get("labels") or {}
        for term in target["labelSelector"].split(","):
            key, _, value = term.partition("=")
            if "!" in key or labels.get(key.strip()) != value.strip():
                return False
    return True


def _patch(docs: list[dict], patch: dict, directory: Path) -> None:
    if set(patch) - {"target", "patch", "path"} or "target" not in patch:
        raise ValueError(f"{directory}: only JSON 6902 patches with a target are supported: {patch}")
    text = patch.get("patch") or (directory / patch["path"]).read_text(encoding="utf-8")
    ops = yaml.safe_load(text)
    if not isinstance(ops, list):
        raise ValueError(f"{directory}: a patch must be a list of JSON 6902 operations (strategic merge is not supported)")
    matched = [d for d in docs if _selected(d, patch["target"])]
    if not matched:
        raise ValueError(f"{directory}: patch target {patch['target']} matches nothing")
    for doc in matched:
        for op in ops:
            _apply(doc, op)


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def _apply(doc: dict, op: dict) -> None:
    *parents, last = _pointer(op["path"])
    node = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    kind = op["op"]
    if isinstance(node, list):
        index = len(node) if last == "-" else int(last)
        if kind == "add":
            node.insert(index, copy.deepcopy(op["value"]))
        elif kind == "replace":
            node[index] = copy.deepcopy(op["value"])
        elif kind == "remove":
            del node[index]
        else:
            raise ValueError(f"JSON 6902 op not supported: {kind}")
        return
    if kind in ("add", "replace"):
        if kind == "replace" and last not in node:
            raise KeyError(f"replace: {op['path']} does not exist")
        node[last] = copy.deepcopy(op["value"])
    elif kind == "remove":
        del node[last]
    else:
        raise ValueError(f"JSON 6902 op not supported: {kind}")


def _containers(doc: dict) -> list[dict]:
    spec = (doc.get("spec") or {}).get("template", {}).get("spec", {})
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def _set_image(docs: list[dict], image: dict) -> None:
    for doc in docs:
        for container in _containers(doc):
            name, _, tag = container["image"].partition(":")
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            tag = image.get("newTag", tag)
            container["image"] = f"{name}:{tag}" if tag else name


def main(argv: list[str]) -> None:
    yaml.safe_dump_all(build(argv[0]), sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main(sys.argv[1:])
