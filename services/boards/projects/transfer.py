"""Project import / export.

Export snapshot (version 1) — what import accepts as-is, yielding an equal project:
    {"version": 1, "exportedAt": "...Z",
     "project": {"id", "name", "description", "templateId"},
     "scopes": [{"id", "name", "description", "order", "activeView"}],
     "columns": [{"id", "name", "order", "scopeId"}],             # main board first, then each scope
     "labels": [{"id", "name", "color"}],
     "customFields": [{"id", "name", "type", "options"}],
     "cards": [{"id", "title", "description", "columnId", "columnIndex", "scopeId", "order", "priority",
                "startDate", "dueDate", "assigneeId", "archived", "labelIds", "customFields",
                "checklist": [{"_id", "title", "done", "order"}], "checklistProgress", "commentCount",
                "attachmentCount", "createdAt", "updatedAt"}],
     "relations": [{"id", "sourceCardId", "targetCardId", "type"}],
     "members": [{"userId", "email", "name", "addedAt"}]}
Ids in a snapshot only link its parts together; import gives everything new ids. The reference's
shorter shape (`project`, `columns`, `cards` with `columnIndex`) is the same thing with fewer keys.
"""
from __future__ import annotations

from libs.common.errors import BadRequest
from libs.common.mongo import iso, new_id, now

from .. import activity as act
from ..activity import Actor
from ..cards.schemas import CardOut
from ..cards.storage import CardStore
from ..columns.storage import ColumnStore
from ..domain import normalize_checklist, validate_value
from ..fields.storage import FieldStore
from ..labels.storage import LabelStore
from ..ranks import board_map
from ..relations.storage import RelationStore
from ..scopes.storage import ScopeStore
from ..transactions import Transactions
from .members import Directory
from .schemas import MemberOut
from .service import ProjectsService
from .storage import ProjectStore

CARD, MEMBERS = CardOut(), MemberOut(many=True)


class TransferService:
    def __init__(self, *, projects: ProjectsService, project_store: ProjectStore, scopes: ScopeStore,
                 columns: ColumnStore, labels: LabelStore, fields: FieldStore, cards: CardStore,
                 relations: RelationStore, directory: Directory, tx: Transactions, outbox):
        self.projects = projects
        self.project_store = project_store
        self.scopes = scopes
        self.columns = columns
        self.labels = labels
        self.fields = fields
        self.cards = cards
        self.relations = relations
        self.directory = directory
        self.tx = tx
        self.outbox = outbox

    def export(self, *, actor: Actor, project_id: str) -> dict:
        project = self.projects.ranked(actor=actor, project=self.projects.get_or_raise(actor=actor, project_id=project_id))
        ws, pid = actor.workspace_id, project["id"]
        scopes = self.scopes.list(ws, pid)
        scope_rank = {s["id"]: n for n, s in enumerate(scopes)}
        columns = sorted(self.columns.list(ws, pid),
                         key=lambda c: (c.get("scopeId") is not None, scope_rank.get(c.get("scopeId"), -1), c["order"]))
        column_index = {c["id"]: n for n, c in enumerate(columns)}
        cards = sorted(self.cards.list(ws, pid, archived="all"),
                       key=lambda c: (column_index.get(c["columnId"], 0), c["order"]))
        snapshot_cards = []
        for card in cards:
            out = CARD.dump(card)
            snapshot_cards.append({
                "id": out["id"], "title": out["title"], "description": out["description"],
                "columnId": out["columnId"], "columnIndex": column_index.get(out["columnId"], 0),
                "scopeId": out["scopeId"], "order": out["order"], "priority": out["priority"],
                "startDate": out["startDate"], "dueDate": out["dueDate"], "assigneeId": out["assigneeId"],
                "archived": out["archived"], "labelIds": out["labelIds"], "customFields": out["customFields"],
                "checklist": out["checklist"], "checklistProgress": out["checklistProgress"],
                "commentCount": out["commentCount"], "attachmentCount": out["attachmentCount"],
                "createdAt": out["createdAt"], "updatedAt": out["updatedAt"]})
        return {
            "version": 1, "exportedAt": iso(now()),
            "project": {"id": pid, "name": project["name"], "description": project.get("description"),
                        "templateId": project.get("templateId")},
            "scopes": [{"id": s["id"], "name": s["name"], "description": s.get("description"), "order": s["order"],
                        "activeView": s.get("activeView") or "kanban"} for s in scopes],
            "columns": [{"id": c["id"], "name": c["name"], "order": c["order"], "scopeId": c.get("scopeId")}
                        for c in columns],
            "labels": [{"id": x["id"], "name": x["name"], "color": x["color"]}
                       for x in self.labels.list(ws, pid)],
            "customFields": [{"id": f["id"], "name": f["name"], "type": f["type"], "options": f.get("options") or []}
                             for f in self.fields.list(ws, pid)],
            "cards": snapshot_cards,
            "relations": [{"id": r["id"], "sourceCardId": r["sourceCardId"], "targetCardId": r["targetCardId"],
                           "type": r["type"]} for r in self.relations.of_project(ws, pid)],
            "members": MEMBERS.dump(project.get("members") or []),
        }

    def create(self, *, actor: Actor, data: dict) -> dict:
        """A new project from a snapshot (or the reference's short shape). Limits: 50 columns, 500 cards."""
        ts = now()
        spec = data["project"]
        creator = self.directory.actor_row(actor=actor)
        project = {"id": new_id(), "orgId": actor.org_id, "workspaceId": actor.workspace_id, "name": spec["name"],
                   "description": spec.get("description"), "templateId": spec.get("templateId"),
                   "members": [creator] if creator else [], "createdBy": actor.user_id, "createdAt": ts,
                   "updatedAt": ts}
        base = {"orgId": project["orgId"], "workspaceId": project["workspaceId"], "projectId": project["id"]}

        # scopes, then columns (dense order per board, in the snapshot's order)
        scope_map, scopes = {}, []
        for n, s in enumerate(sorted(enumerate(data["scopes"]),
                                     key=lambda p: (p[1]["order"] if p[1]["order"] is not None else p[0], p[0]))):
            spec_s = s[1]
            doc = base | {"id": new_id(), "name": spec_s["name"], "description": spec_s.get("description"),
                          "order": n, "activeView": spec_s.get("activeView") or "kanban", "createdAt": ts,
                          "updatedAt": ts}
            scopes.append(doc)
            if spec_s.get("id"):
                scope_map[spec_s["id"]] = doc["id"]
        columns_in = data["columns"]
        columns = [None] * len(columns_in)
        column_map, per_board = {}, {}
        for index, spec_c in enumerate(columns_in):
            scope_id = spec_c.get("scopeId")
            if scope_id is not None and scope_id not in scope_map:
                raise BadRequest(f"columns[{index}].scopeId is not one of the snapshot's scopes")
            per_board.setdefault(scope_map.get(scope_id), []).append(index)
        for scope_id, indexes in per_board.items():
            ranked = sorted(indexes, key=lambda i: (columns_in[i]["order"] if columns_in[i]["order"] is not None
                                                    else i, i))
            for order, index in enumerate(ranked):
                columns[index] = base | {"id": new_id(), "scopeId": scope_id, "name": columns_in[index]["name"],
                                         "order": order, "createdAt": ts, "updatedAt": ts}
                if columns_in[index].get("id"):
                    column_map[columns_in[index]["id"]] = columns[index]

        # labels and custom fields
        label_map, labels, names = {}, [], set()
        for spec_l in data["labels"]:
            if spec_l["name"] in names:
                raise BadRequest(f"Duplicate label name '{spec_l['name']}'")
            names.add(spec_l["name"])
            doc = base | {"id": new_id(), "name": spec_l["name"], "color": spec_l["color"].upper(), "createdAt": ts}
            labels.append(doc)
            label_map[spec_l.get("id") or doc["id"]] = doc["id"]
            label_map.setdefault(spec_l["name"], doc["id"])
        field_map, fields = {}, []
        for spec_f in data["customFields"]:
            doc = base | {"id": new_id(), "name": spec_f["name"], "type": spec_f["type"], "createdAt": ts,
                          "options": list(spec_f.get("options") or []) if spec_f["type"] in ("select", "multi-select")
                          else []}
            fields.append(doc)
            field_map[spec_f.get("id") or doc["id"]] = doc
            field_map.setdefault(spec_f["name"], doc)

        # who may stay assigned: members of this workspace (one identity call)
        wanted = {c["assigneeId"] for c in data["cards"] if c.get("assigneeId")} | {m["userId"] for m in data["members"]}
        members = {}
        if wanted - {actor.user_id}:
            for m in self.directory.list(actor=actor):
                members[m["userId"]] = self.directory.row(m["userId"], m.get("email"), m.get("name"))
        if creator:
            members[creator["userId"]] = creator
        for user_id in wanted:
            if user_id in members and user_id not in act.member_ids(project):
                project["members"].append(members[user_id])

        # cards: dense order per column, in the snapshot's order
        cards, card_map, per_column = [], {}, {}
        for index, spec_c in enumerate(data["cards"]):
            if spec_c.get("columnId") and spec_c["columnId"] in column_map:
                column = column_map[spec_c["columnId"]]
            elif spec_c.get("columnIndex") is not None:
                if spec_c["columnIndex"] >= len(columns):
                    raise BadRequest(f"cards[{index}].columnIndex is out of range")
                column = columns[spec_c["columnIndex"]]
            elif columns:
                column = columns[0]
            else:
                raise BadRequest("Cards need at least one column")
            values = {}
            for key, value in (spec_c.get("customFields") or {}).items():
                field = field_map.get(key)
                if field is None:
                    raise BadRequest(f"cards[{index}].customFields: unknown field '{key}'")
                if value is not None:
                    values[field["id"]] = validate_value(field, value)
            assignee = spec_c.get("assigneeId")
            doc = base | {"id": new_id(), "columnId": column["id"], "scopeId": column.get("scopeId"),
                          "title": spec_c["title"], "description": spec_c.get("description"),
                          "priority": spec_c.get("priority") or "medium", "startDate": spec_c.get("startDate"),
                          "dueDate": spec_c.get("dueDate"), "assigneeId": assignee if assignee in members else None,
                          "archived": bool(spec_c.get("archived")), "order": 0,
                          "labelIds": list(dict.fromkeys(label_map[i] for i in spec_c.get("labelIds") or []
                                                         if i in label_map)),
                          "customFields": values, "checklist": normalize_checklist(spec_c.get("checklist") or []),
                          "commentCount": 0, "attachmentCount": 0, "createdBy": actor.user_id, "createdAt": ts,
                          "updatedAt": ts}
            cards.append(doc)
            per_column.setdefault(column["id"], []).append((spec_c.get("order"), index, doc))
            if spec_c.get("id"):
                card_map[spec_c["id"]] = doc["id"]
        for entries in per_column.values():
            entries.sort(key=lambda e: (e[0] if e[0] is not None else e[1], e[1]))
            for order, (_, _, doc) in enumerate(entries):
                doc["order"] = order

        relations, seen = [], set()
        for spec_r in data["relations"]:
            source, target = card_map.get(spec_r["sourceCardId"]), card_map.get(spec_r["targetCardId"])
            if not source or not target or source == target:
                continue
            kind = spec_r["type"]
            if kind == "blocked_by":
                source, target, kind = target, source, "blocks"
            elif kind == "related_to" and target < source:
                source, target = target, source
            if (source, target, kind) in seen:
                continue
            seen.add((source, target, kind))
            relations.append(base | {"id": new_id(), "sourceCardId": source, "targetCardId": target, "type": kind,
                                     "createdBy": actor.user_id, "createdAt": ts})

        for doc in cards:
            doc["rank"] = doc["order"]
        project.update(board_map(columns, cards))
        with self.tx.unit() as s:
            self.project_store.insert(project, session=s)
            self.scopes.insert_many(scopes, session=s)
            self.columns.insert_many(columns, session=s)
            self.labels.insert_many(labels, session=s)
            self.fields.insert_many(fields, session=s)
            self.cards.insert_many(cards, session=s)
            self.relations.insert_many(relations, session=s)
            self.outbox.add(act.project_event("created", actor=actor, project=project), session=s)
        counts = {"scopes": len(scopes), "columns": len(columns), "cards": len(cards), "labels": len(labels),
                         "customFields": len(fields), "relations": len(relations)}
        return dict(project, columns=[c for c in columns if c.get("scopeId") is None], counts=counts)
