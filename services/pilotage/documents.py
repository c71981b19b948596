"""Documents: the workspace's knowledge base (8 types, TipTap JSON content, a tree by parentId)
and its review workflow.

    draft ──submit-review──▶ pending_review ──review approved──▶ approved
      ▲                          │
      └── changes_requested ◀────┘ review changes_requested  (submit-review again from there)

Any workspace member creates, edits, deletes and submits documents (the gateway checks the
`pilotage:write` scope); `review` needs pilotage `reviewer` or `owner`. A wrong transition → 409.
The tree: `parentId` must name a document of the workspace (400), never the document itself
(400) nor one of its descendants (409); deleting a document that has children → 409.
Methods return stored rows (the handlers dump them through `responses.DocumentOut`).
"""
from __future__ import annotations

import json
import re

from libs.common.context import Caller, require_pilotage
from libs.common.errors import BadRequest, Conflict, NotFound, PayloadTooLarge
from libs.common.mongo import is_id, new_id, now, unit_of_work

from . import events
from .responses import render_document

class DocumentService:
    def __init__(self, *, store, outbox, client, settings):
        self.store = store
        self.outbox = outbox
        self.client = client
        self.settings = settings

    def get_or_raise(self, caller: Caller, document_id: str, *, session=None) -> dict:
        row = self.store.get("documents", caller.workspace_id, document_id, session=session) \
            if is_id(document_id) else None
        if row is None:
            raise NotFound("Document not found")
        return row

    def _publish(self, verb: str, row: dict, caller: Caller, session, **extra) -> None:
        data = {"document": render_document(row, content=False)} | extra
        events.publish(self.outbox, f"pilotage.document.{verb}", data, caller=caller, session=session)

    def _check_size(self, content) -> None:
        if content is not None and len(json.dumps(content, separators=(",", ":"))) > self.settings.max_document_bytes:
            raise PayloadTooLarge(f"content must be at most {self.settings.max_document_bytes // 1024} KB of JSON")

    def _check_context(self, caller: Caller, context_type, context_id) -> None:
        if context_type is None and context_id is not None:
            raise BadRequest("contextId needs a contextType", details={"contextType": ["Required with contextId."]})
        if context_type not in (None, "workspace") and context_id is None:
            raise BadRequest("contextType needs a contextId", details={"contextId": ["Required with contextType."]})
        if context_type == "mission" and not (is_id(context_id) and
                                              self.store.exists("missions", caller.workspace_id, context_id)):
            raise BadRequest("contextId: no such mission in this workspace",
                             details={"contextId": ["Unknown mission."]})

    def _check_parent(self, caller: Caller, document_id: str | None, parent_id: str | None) -> None:
        if parent_id is None:
            return
        if parent_id == document_id:
            raise BadRequest("parentId: a document cannot be its own parent",
                             details={"parentId": ["Cannot be the document itself."]})
        parents = self.store.document_parents(caller.workspace_id)
        if parent_id not in parents:
            raise BadRequest("parentId: no such document in this workspace",
                             details={"parentId": ["Unknown document."]})
        if document_id is None:
            return
        seen = set()
        node = parent_id
        while node is not None and node not in seen:
            if node == document_id:
                raise Conflict("parentId: a document cannot move under one of its descendants")
            seen.add(node)
            node = parents.get(node)

    # ------------------------------------------------------------------ CRUD
    def create(self, *, caller: Caller, data: dict) -> dict:
        self._check_size(data.get("content"))
        self._check_context(caller, data.get("contextType"), data.get("contextId"))
        self._check_parent(caller, None, data.get("parentId"))
        stamp = now()
        doc = {"_id": new_id(), "orgId": caller.org_id, "workspaceId": caller.workspace_id, **data,
               "status": "draft", "authorId": caller.user_id, "reviewerId": None, "reviewNotes": None,
               "createdAt": stamp, "updatedAt": stamp}
        with unit_of_work(self.client) as s:
            created = self.store.insert("documents", doc, session=s)
            self._publish("created", created, caller, s)
        return created

    def get(self, *, caller: Caller, document_id: str) -> dict:
        return self.get_or_raise(caller, document_id)

    def list(self, *, caller: Caller, query: dict) -> tuple[list[dict], str | None]:
        """Summaries (no `content`) in creation order, filtered; (rows, next cursor or None)."""
        filters = {k: query[k] for k in ("docType", "status", "contextType", "contextId") if query.get(k)}
        parent = query.get("parentId")
        if parent is not None:
            filters["parentId"] = None if parent in ("root", "null") else parent
        if query.get("q"):
            filters["title"] = {"$regex": re.escape(query["q"]), "$options": "i"}
        return self.store.page("documents", caller.workspace_id, filters=filters, limit=query.get("limit"),
                               cursor=query.get("cursor"), projection={"content": 0})

    def update(self, *, caller: Caller, document_id: str, data: dict) -> dict:
        current = self.get_or_raise(caller, document_id)
        if "content" in data:
            self._check_size(data["content"])
        if "contextType" in data or "contextId" in data:
            self._check_context(caller, data.get("contextType", current.get("contextType")),
                                data.get("contextId", current.get("contextId")))
        if data.get("parentId") is not None and data["parentId"] != current.get("parentId"):
            self._check_parent(caller, document_id, data["parentId"])
        if not data:
            return current
        with unit_of_work(self.client) as s:
            updated = self.store.update("documents", caller.workspace_id, document_id, data, session=s)
            if updated is None:
                raise NotFound("Document not found")
            changed = sorted(k for k in data if current.get(k) != updated.get(k))
            self._publish("updated", updated, caller, s, changedFields=changed)
        return updated

    def delete(self, *, caller: Caller, document_id: str) -> dict:
        current = self.get_or_raise(caller, document_id)
        if self.store.has_children(caller.workspace_id, document_id):
            raise Conflict("The document has child documents: delete or move them first")
        with unit_of_work(self.client) as s:
            if not self.store.delete("documents", caller.workspace_id, document_id, session=s):
                raise NotFound("Document not found")
            self._publish("deleted", current, caller, s)
        return {"ok": True}

    # ------------------------------------------------------------------ review workflow
    def _transition(self, caller: Caller, current: dict, allowed: tuple, changes: dict, verb: str) -> dict:
        if current["status"] not in allowed:
            raise Conflict(f"Cannot {verb.replace('_', ' ')} a document in status {current['status']} "
                           f"(allowed from: {', '.join(allowed)})")
        with unit_of_work(self.client) as s:
            updated = self.store.update("documents", caller.workspace_id, current["id"], changes,
                                        expect={"status": {"$in": list(allowed)}}, session=s)
            if updated is None:
                raise Conflict("The document changed status concurrently")
            self._publish("submitted" if verb == "submit_review" else "reviewed", updated, caller, s)
        return updated

    def submit_review(self, *, caller: Caller, document_id: str) -> dict:
        current = self.get_or_raise(caller, document_id)
        return self._transition(caller, current, ("draft", "changes_requested"),
                                {"status": "pending_review"}, "submit_review")

    def review(self, *, caller: Caller, document_id: str, status: str, notes: str | None) -> dict:
        current = self.get_or_raise(caller, document_id)
        require_pilotage(caller, "reviewer")
        return self._transition(caller, current, ("pending_review",),
                                {"status": status, "reviewerId": caller.user_id, "reviewNotes": notes or None},
                                "review")
