"""Which service owns a path, which PAT scope it needs and which guard it runs behind.

`W` = /orgs/<org>/workspaces/<ws>. Rules are tried in order; the first match wins.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

SEG = r"([^/]+)"
W = rf"/orgs/{SEG}/workspaces/{SEG}"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern
    service: str
    scope: str | None          # "projects" -> projects:read / projects:write by method; None = no PAT scope
    guard: str                 # "none" | "org" | "ws"
    public: bool = False       # no token needed
    jwt_only: bool = False     # PATs refused (403)
    read_only_scope: bool = False  # every method needs the :read scope (notifications)
    pass_bearer: bool = False  # the caller's bearer token goes on too (mcp calls the REST API with it)


def _r(regex, service, scope, guard="none", **kw) -> Rule:
    return Rule(re.compile(f"^{regex}/?$"), service, scope, guard, **kw)


RULES = [
    _r(r"/auth/(?:register|login)", "identity", None, public=True),
    _r(r"/auth/(?:me|change-password)", "identity", "account"),
    _r(r"/api-tokens(?:/[^/]+)?", "identity", None, jwt_only=True),
    _r(r"/invitations/[^/]+/accept", "identity", "account"),
    _r(r"/organizations", "identity", "account"),
    _r(rf"/organizations/{SEG}(?:/members(?:/[^/]+)?)?", "identity", "account", "org"),
    _r(rf"/orgs/{SEG}/workspaces", "identity", "account", "org"),
    _r(rf"{W}(?:/members(?:/invite|/[^/]+)?)?", "identity", "account", "ws"),
    _r(rf"{W}/projects/[^/]+/automations(?:/.*)?", "automations", "projects", "ws"),
    _r(rf"{W}/projects(?:/.*)?", "boards", "projects", "ws"),
    _r(rf"{W}/(?:pilotage|documents)(?:/.*)?", "pilotage", "pilotage", "ws"),
    _r(rf"{W}/(?:agents|missions|proposals|project-drafts)(?:/.*)?", "agents", "pilotage", "ws"),
    _r(rf"{W}/webhooks(?:/.*)?", "webhooks", "projects", "ws"),
    _r(r"/notifications(?:/.*)?", "notifications", "notifications", read_only_scope=True),
    # MCP (Streamable HTTP): any valid token connects; each tool is bounded by the REST call it makes.
    _r(r"/mcp", "mcp", None, pass_bearer=True),
]


@dataclass(frozen=True)
class Match:
    rule: Rule
    org: str | None
    ws: str | None

    def required_scope(self, method: str) -> str | None:
        scope = self.rule.scope
        if scope is None:
            return None
        if self.rule.read_only_scope or method in ("GET", "HEAD"):
            return f"{scope}:read"
        return f"{scope}:write"


def match(path: str) -> Match | None:
    for rule in RULES:
        m = rule.pattern.match(path)
        if m:
            groups = m.groups()
            org = groups[0] if rule.guard in ("org", "ws") else None
            ws = groups[1] if rule.guard == "ws" else None
            return Match(rule, org, ws)
    return None
