"""The pilotage state: the one function behind GET …/pilotage/state, the `get_state` command
(agents, the MCP tool get_pilotage_state) and the benchmark.

It reads each collection once (settings, missions, priorities, todos, decisions, docs: six
queries whatever the size of the workspace) and filters, orders and shapes in Python.

profile (default `pilotage`) and intent (optional) choose what is shown and in which order;
an intent refines the profile on the points it defines:

| view | missions shown (order) | todos shown (order) | decisions |
|---|---|---|---|
| profile pilotage | all (blocked, in_progress, to_launch, done) | all (blocked, in_progress, todo, done) | newest first |
| profile execution | not done (in_progress, blocked, to_launch) | open: not done (in_progress, todo, blocked) | newest first |
| profile revue | all, most recently updated first | all, most recently updated first | newest first |
| intent weekly_review | all, most recently updated first | all, most recently updated first | newest first |
| intent daily_execution | in_progress, blocked | open (in_progress, todo, blocked) | newest first |
| intent sprint_planning | not done (to_launch, in_progress, blocked) | open (todo, blocked, in_progress) | newest first |
| intent context_only | all (as the profile orders them) | none | newest first |

Ties keep creation order. activePriorities = priorities with `active` true, by `order` then
creation; activeDocs = every active doc, newest first.

detailLevel: `minimal` → ids, labels and statuses only (mission {id, objective, status},
priority {id, label}, todo {id, label, status}, decision {id, title}, doc {id, title});
`standard` → the reference's shape (mission {id, objective, module, status, blockedReason}…);
`detailed` → standard plus timestamps, and each mission's `todos` and linked `decisions`.
"""
from __future__ import annotations

from libs.common.errors import BadRequest
from libs.common.mongo import iso

from .schemas import DETAIL_LEVELS, INTENTS, PROFILES

CONTRACT_VERSION = 7
ALL = None  # "every status"

_VIEWS = {
    "pilotage": {"missions": ALL, "missionOrder": ["blocked", "in_progress", "to_launch", "done"],
                 "todos": ALL, "todoOrder": ["blocked", "in_progress", "todo", "done"]},
    "execution": {"missions": {"in_progress", "blocked", "to_launch"},
                  "missionOrder": ["in_progress", "blocked", "to_launch"],
                  "todos": {"in_progress", "todo", "blocked"}, "todoOrder": ["in_progress", "todo", "blocked"]},
    "revue": {"missions": ALL, "missionOrder": "recent", "todos": ALL, "todoOrder": "recent"},
}
_INTENTS = {
    "weekly_review": {"missions": ALL, "missionOrder": "recent", "todos": ALL, "todoOrder": "recent"},
    "daily_execution": {"missions": {"in_progress", "blocked"}, "missionOrder": ["in_progress", "blocked"],
                        "todos": {"in_progress", "todo", "blocked"}, "todoOrder": ["in_progress", "todo", "blocked"]},
    "sprint_planning": {"missions": {"to_launch", "in_progress", "blocked"},
                        "missionOrder": ["to_launch", "in_progress", "blocked"],
                        "todos": {"todo", "blocked", "in_progress"}, "todoOrder": ["todo", "blocked", "in_progress"]},
    "context_only": {"todos": set(), "todoOrder": []},
}

# What each detail level keeps of an entity.
_FIELDS = {
    "minimal": {"missions": ("id", "objective", "status"), "priorities": ("id", "label"),
                "todos": ("id", "label", "status"), "decisions": ("id", "title"), "docs": ("id", "title")},
    "standard": {"missions": ("id", "objective", "module", "status", "blockedReason"),
                 "priorities": ("id", "label", "module", "order"),
                 "todos": ("id", "label", "status", "missionId", "priorityId"),
                 "decisions": ("id", "title", "impact", "missionId", "createdAt"),
                 "docs": ("id", "title", "owner", "sourceType")},
}
_FIELDS["detailed"] = {name: fields + tuple(f for f in ("createdAt", "updatedAt") if f not in fields)
                       for name, fields in _FIELDS["standard"].items()}


def view_for(profile: str, intent: str | None) -> dict:
    view = dict(_VIEWS[profile])
    if intent:
        view.update(_INTENTS[intent])
    return view


def _validate(profile, intent, detail_level) -> tuple[str, str | None, str]:
    profile = profile or "pilotage"
    detail_level = detail_level or "standard"
    if profile not in PROFILES:
        raise BadRequest(f"profile must be one of: {', '.join(PROFILES)}")
    if intent is not None and intent not in INTENTS:
        raise BadRequest(f"intent must be one of: {', '.join(INTENTS)}")
    if detail_level not in DETAIL_LEVELS:
        raise BadRequest(f"detailLevel must be one of: {', '.join(DETAIL_LEVELS)}")
    return profile, intent, detail_level


def _ordered(rows: list[dict], statuses, order) -> list[dict]:
    if statuses is not None:
        rows = [r for r in rows if r.get("status") in statuses]
    if order == "recent":
        # stable sort: equal timestamps keep creation order
        return sorted(rows, key=lambda r: r.get("updatedAt") or r.get("createdAt"), reverse=True)
    rank = {s: i for i, s in enumerate(order)}
    return sorted(rows, key=lambda r: rank.get(r.get("status"), len(rank)))


def _shape(row: dict, fields) -> dict:
    out = {}
    for f in fields:
        value = row.get(f)
        out[f] = iso(value) if f in ("createdAt", "updatedAt") else value
    return out


def build_state(store, *, workspace_id: str, role: str | None, profile: str | None = None,
                intent: str | None = None, detail_level: str | None = None, default_cycle: str = "v1") -> dict:
    """The pilotage state of one workspace. Raises BadRequest on an unknown profile/intent/detailLevel.

        build_state(store, workspace_id="…", role="owner", profile="execution", intent="daily_execution")
        -> {"cycle": "v1", "contractVersion": 7, "missions": [...], "activePriorities": [...], "todos": [...],
            "decisions": [...], "activeDocs": [...],
            "usageContext": {"profile": "execution", "role": "owner", "intent": "daily_execution",
                             "detailLevel": "standard"}}
    """
    profile, intent, detail_level = _validate(profile, intent, detail_level)
    view = view_for(profile, intent)
    fields = _FIELDS[detail_level]
    detailed = detail_level == "detailed"

    settings = store.get_settings(workspace_id) or {}
    missions = _ordered(store.list("missions", workspace_id), view["missions"], view["missionOrder"])
    priorities = store.list("priorities", workspace_id, filters={"active": True})
    priorities.sort(key=lambda p: p.get("order") if p.get("order") is not None else float("inf"))
    want_todos = view["todos"] is None or bool(view["todos"]) or detailed
    all_todos = store.list("todos", workspace_id) if want_todos else []
    todos = _ordered(all_todos, view["todos"], view["todoOrder"]) if view["todos"] != set() else []
    decisions = store.list("decisions", workspace_id)
    decisions.reverse()  # newest first
    docs = store.list("docs", workspace_id)
    docs.reverse()

    mission_rows = []
    if detailed:
        todos_by_mission: dict[str, list] = {}
        for t in all_todos:
            if t.get("missionId"):
                todos_by_mission.setdefault(t["missionId"], []).append(_shape(t, fields["todos"]))
        decisions_by_mission: dict[str, list] = {}
        for d in decisions:
            if d.get("missionId"):
                decisions_by_mission.setdefault(d["missionId"], []).append(_shape(d, fields["decisions"]))
        for m in missions:
            row = _shape(m, fields["missions"])
            row["todos"] = todos_by_mission.get(m["id"], [])
            row["decisions"] = decisions_by_mission.get(m["id"], [])
            mission_rows.append(row)
    else:
        mission_rows = [_shape(m, fields["missions"]) for m in missions]

    return {
        "cycle": settings.get("cycle") or default_cycle,
        "contractVersion": CONTRACT_VERSION,
        "missions": mission_rows,
        "activePriorities": [_shape(p, fields["priorities"]) for p in priorities],
        "todos": [_shape(t, fields["todos"]) for t in todos],
        "decisions": [_shape(d, fields["decisions"]) for d in decisions],
        "activeDocs": [_shape(d, fields["docs"]) for d in docs],
        "usageContext": {"profile": profile, "role": role, "intent": intent, "detailLevel": detail_level},
    }
