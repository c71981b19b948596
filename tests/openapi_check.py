"""Every JSON response a test sees, checked against the gateway's `/openapi.json`.

    checker = ResponseChecker.from_gateway(base, tags=("boards",))
    with observing(checker):          # every tests.support.Client response is checked
        ...
    assert not checker.problems, checker.report()

A response is looked up by (method, templated path, status); its body must validate against the schema
the document declares for that status (an undeclared error status: the common `Error` body). Object
schemas are closed for the check (`additionalProperties: false` unless they say otherwise): a key the
document does not declare is drift too. OpenAPI 3.0's `nullable` is rewritten as JSON Schema's
`"null"` type; `$ref`s resolve against the document's components.
"""
from __future__ import annotations

import contextlib
import copy
import re
from dataclasses import dataclass, field

import jsonschema
import requests

_PARAM = re.compile(r"\{[^}/]+\}")


def _jsonschema(node):
    """An OpenAPI 3.0 schema object as JSON Schema (draft 7), closed objects."""
    if isinstance(node, list):
        return [_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _jsonschema(v) for k, v in node.items()
           if k not in ("properties", "nullable", "example", "discriminator", "readOnly", "writeOnly", "xml")}
    if isinstance(node.get("properties"), dict):
        out["properties"] = {k: _jsonschema(v) for k, v in node["properties"].items()}
        out.setdefault("additionalProperties", False)
    if node.get("nullable"):
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
        return {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass
class ResponseChecker:
    doc: dict
    problems: list[str] = field(default_factory=list)
    seen: int = 0
    tags: tuple[str, ...] | None = None      # check the operations of these tags (services) only; None = all
    _routes: list = field(default_factory=list)
    _validators: dict = field(default_factory=dict)

    @classmethod
    def from_gateway(cls, base: str, **kw) -> "ResponseChecker":
        doc = requests.get(base.rstrip("/") + "/openapi.json", timeout=30).json()
        return cls(doc=doc, **kw)

    def __post_init__(self):
        self.components = _jsonschema(copy.deepcopy(self.doc.get("components", {})))
        for path, ops in self.doc.get("paths", {}).items():
            pattern = re.compile("^" + _PARAM.sub("[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
                                 + "$")
            self._routes.append((path.count("{"), path, pattern, ops))
        self._routes.sort(key=lambda r: r[0])   # literal segments win: /projects/templates before /projects/{id}

    def operation(self, method: str, path: str):
        for _, templated, pattern, ops in self._routes:
            if pattern.match(path) and method.lower() in ops:
                return templated, ops[method.lower()]
        return None, None

    def _validator(self, key, schema):
        if key not in self._validators:
            self._validators[key] = jsonschema.Draft7Validator({**_jsonschema(schema), "components": self.components})
        return self._validators[key]

    def check(self, method: str, url: str, response) -> None:
        path = "/" + url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0] if "://" in url else url
        path = path.split("?", 1)[0].rstrip("/") or "/"
        content_type = response.headers.get("Content-Type", "")
        if response.status_code == 304 or "json" not in content_type or not response.content:
            return
        templated, op = self.operation(method, path)
        where = f"{method} {path} -> {response.status_code}"
        if op is None:
            if response.status_code < 400:   # an unknown path's 404 is not a response of the API
                self.problems.append(f"{where}: no such operation in /openapi.json")
            return
        if self.tags is not None and not set(op.get("tags") or ()) & set(self.tags):
            return
        self.seen += 1
        declared = op.get("responses", {}).get(str(response.status_code))
        if declared is None and response.status_code >= 400:
            declared = {"$ref": "#/components/responses/Error"}
        if declared is None:
            self.problems.append(f"{where}: status not declared ({sorted(op.get('responses', {}))})")
            return
        if "$ref" in declared:
            declared = self.doc["components"]["responses"][declared["$ref"].rsplit("/", 1)[-1]]
        schema = declared.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            self.problems.append(f"{where}: a JSON body where the document declares none")
            return
        try:
            body = response.json()
        except ValueError:
            self.problems.append(f"{where}: not JSON")
            return
        errors = sorted(self._validator((templated, method, response.status_code), schema).iter_errors(body),
                        key=lambda e: list(e.absolute_path))
        for error in errors[:3]:
            at = "/".join(str(p) for p in error.absolute_path)
            self.problems.append(f"{where}: at '{at}': {error.message[:300]}")

    def report(self) -> str:
        return f"{len(self.problems)} response(s) differ from /openapi.json:\n" + "\n".join(self.problems[:50])


@contextlib.contextmanager
def observing(checker: ResponseChecker):
    """Every response of a `tests.support.Client` inside the block goes through `checker.check`."""
    from tests.support import Client

    def observe(method, url, response):
        checker.check(method, url, response)

    Client.observers.append(observe)
    try:
        yield checker
    finally:
        Client.observers.remove(observe)


def undeclared_responses(doc: dict, tags) -> list[str]:
    """The operations of `tags` in `doc` that do not declare their responses: a 2xx with a body (a JSON
    schema, or another media type such as `text/event-stream`) and the error body on 400, 401, 403, 404
    and on every other 4xx/5xx they list."""
    problems = []
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            if not set(op.get("tags") or ()) & set(tags):
                continue
            where = f"{method.upper()} {path}"
            responses = op.get("responses", {})
            success = [code for code in responses if code.startswith("2")]
            if len(success) != 1:
                problems.append(f"{where}: {len(success)} success statuses declared")
            for code in success:
                content = responses[code].get("content") or {}
                if not content or any(not media.get("schema") for media in content.values()):
                    problems.append(f"{where}: {code} declares no body")
            for code in ("400", "401", "403", "404"):
                if code not in responses:
                    problems.append(f"{where}: {code} not declared")
            for code, declared in responses.items():
                if code[0] in "45" and declared != {"$ref": "#/components/responses/Error"}:
                    problems.append(f"{where}: {code} is not the error body")
    return problems
