"""The project wizard (API.md §5 "Project drafts"): scoping → refining → roadmap_ready → executed.

    POST W/project-drafts {"name": "Billing v2", "description": "…", "contextDocuments": ["<documentId>"]}
      -> scoping, with questions [{id: "q1", question, round: 1}, …] adapted to the name, description and the
         context documents (pilotage's documents, read by id through cmd.pilotage.get_documents)
    POST …/refine {"answers": [{"questionId": "q1", "answer": "…"}]} -> refining; may add questions (round 2, 3)
    POST …/generate-roadmap -> roadmap_ready, roadmap {phases: [{name, deliverables: [{title, description}]}]}
    POST …/execute -> executed with projectId: boards' create_project_from_plan (phases as columns,
         deliverables as cards), exactly once — a draft being executed or executed is a 409, never two projects.
Any workspace member uses the wizard. The LLM (llm.py) writes the questions and the roadmap.
"""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from libs.common.context import Caller
from libs.common.errors import ApiError, BadGateway, BadRequest, Conflict, NotFound
from libs.common.mongo import is_id, new_id
from libs.common.schemas import schema

from . import schemas as s
from .llm import LLMError
from .storage import Stores, now_ms

MAX_ROUNDS = 3
EXECUTE_RETRY_MS = 600_000


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class _Deliverable(_Lenient):
    title = fields.String(required=True, validate=validate.Length(min=1, max=500))
    description = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=5000))


class _Phase(_Lenient):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    deliverables = fields.List(fields.Nested(_Deliverable), load_default=list, validate=validate.Length(max=100))


class _Roadmap(_Lenient):
    phases = fields.List(fields.Nested(_Phase), required=True, validate=validate.Length(min=1, max=50))


def draft_out(draft: dict) -> dict:
    return schema(s.DraftOut).dump(draft)


class DraftService:
    def __init__(self, *, stores: Stores, bus, llm, settings):
        self.drafts = stores.drafts
        self.bus = bus
        self.llm = llm
        self.settings = settings

    def get_or_raise(self, caller: Caller, draft_id: str) -> dict:
        draft = self.drafts.get(caller.workspace_id, draft_id) if is_id(draft_id) else None
        if draft is None:
            raise NotFound("Project draft not found")
        return draft

    def documents(self, caller: Caller, ids: list[str]) -> list[dict]:
        """The context documents (pilotage's), in the draft's order; an id the workspace lacks is a 400."""
        if not ids:
            return []
        docs = self.bus.call("pilotage", "get_documents", {"workspaceId": caller.workspace_id, "ids": list(ids)},
                             timeout=self.settings.command_timeout)
        by_id = {d["id"]: d for d in docs}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise BadRequest(f"contextDocuments: no such document in this workspace: {', '.join(missing)}",
                             details={"contextDocuments": ["Unknown document id."]})
        return [by_id[i] for i in dict.fromkeys(ids)]

    def _ask(self, fn, **kwargs):
        try:
            return fn(**kwargs)
        except LLMError as exc:
            raise BadGateway(f"The LLM could not answer: {exc}") from None

    @staticmethod
    def _questions(texts: list[str], start: int, round_no: int) -> list[dict]:
        return [{"id": f"q{start + n}", "question": q[:1000], "round": round_no} for n, q in enumerate(texts)]

    def create(self, *, caller: Caller, data: dict) -> dict:
        documents = self.documents(caller, data["contextDocuments"])
        stamp = now_ms()
        draft = {"_id": new_id(), "orgId": caller.org_id, "workspaceId": caller.workspace_id, "name": data["name"],
                 "description": data.get("description"), "contextDocuments": list(dict.fromkeys(data["contextDocuments"])),
                 "status": "scoping", "questions": [], "answers": [], "round": 1, "roadmap": None, "projectId": None,
                 "executingAtMs": 0, "createdBy": caller.user_id, "createdAtMs": stamp, "updatedAtMs": stamp}
        texts = self._ask(self.llm.draft_questions, draft=dict(draft, id=draft["_id"]), documents=documents)
        draft["questions"] = self._questions(texts, 1, 1)
        return draft_out(self.drafts.insert(draft))

    def list(self, *, caller: Caller) -> list[dict]:
        return [draft_out(d) for d in self.drafts.list(caller.workspace_id)]

    def get(self, *, caller: Caller, draft_id: str) -> dict:
        return draft_out(self.get_or_raise(caller, draft_id))

    def delete(self, *, caller: Caller, draft_id: str) -> dict:
        draft = self.get_or_raise(caller, draft_id)
        if draft.get("executingAtMs"):
            raise Conflict("The draft is being executed")
        self.drafts.delete(caller.workspace_id, draft["id"])
        return {"ok": True}

    def refine(self, *, caller: Caller, draft_id: str, answers: list[dict]) -> dict:
        draft = self.get_or_raise(caller, draft_id)
        if draft["status"] == "executed":
            raise Conflict("The draft was executed already")
        asked = {q["id"] for q in draft["questions"]}
        unknown = [a["questionId"] for a in answers if a["questionId"] not in asked]
        if unknown:
            raise BadRequest(f"answers: unknown questionId {', '.join(unknown)}",
                             details={"answers": ["questionId must be one of the draft's questions."]})
        merged = {a["questionId"]: a for a in draft["answers"]}
        merged.update({a["questionId"]: {"questionId": a["questionId"], "answer": a["answer"]} for a in answers})
        updated = dict(draft, answers=[merged[q["id"]] for q in draft["questions"] if q["id"] in merged])
        more = []
        if draft["round"] < MAX_ROUNDS:
            more = self._ask(self.llm.follow_up, draft=updated, documents=self.documents(caller, draft["contextDocuments"]))
        known = {q["question"] for q in draft["questions"]}
        more = [q for q in more if q not in known]
        values = {"answers": updated["answers"], "status": "refining", "roadmap": None}
        if more:
            values["round"] = draft["round"] + 1
            values["questions"] = draft["questions"] + self._questions(more, len(draft["questions"]) + 1,
                                                                        draft["round"] + 1)
        result = self.drafts.update(caller.workspace_id, draft["id"], values,
                                    statuses=("scoping", "refining", "roadmap_ready"), extra={"executingAtMs": 0})
        if result is None:
            raise Conflict("The draft was executed meanwhile")
        return draft_out(result)

    def generate_roadmap(self, *, caller: Caller, draft_id: str) -> dict:
        draft = self.get_or_raise(caller, draft_id)
        if draft["status"] == "executed":
            raise Conflict("The draft was executed already")
        roadmap = self._ask(self.llm.roadmap, draft=draft, documents=self.documents(caller, draft["contextDocuments"]))
        try:
            roadmap = _Roadmap().load(roadmap if isinstance(roadmap, dict) else {})
        except ValidationError as exc:
            raise BadGateway(f"The LLM's roadmap is not usable: {exc.messages}") from None
        result = self.drafts.update(caller.workspace_id, draft["id"], {"roadmap": roadmap, "status": "roadmap_ready"},
                                    statuses=("scoping", "refining", "roadmap_ready"), extra={"executingAtMs": 0})
        if result is None:
            raise Conflict("The draft was executed meanwhile")
        return draft_out(result)

    def execute(self, *, caller: Caller, draft_id: str) -> dict:
        draft = self.get_or_raise(caller, draft_id)
        if draft["status"] == "executed":
            raise Conflict("The draft was executed already")
        if draft["status"] != "roadmap_ready":
            raise Conflict("Generate the roadmap first (the draft is not roadmap_ready)")
        # One execution at a time; an attempt whose outcome is unknown (boards timed out) holds the draft for
        # EXECUTE_RETRY_MS before another may try, so that a slow success is not doubled.
        claimed = self.drafts.update(caller.workspace_id, draft["id"], {"executingAtMs": now_ms()},
                                     statuses=("roadmap_ready",),
                                     extra={"executingAtMs": {"$lt": now_ms() - EXECUTE_RETRY_MS}})
        if claimed is None:
            raise Conflict("The draft is being executed or was executed already")
        try:
            project = self.bus.call("boards", "create_project_from_plan", {
                "workspaceId": caller.workspace_id, "orgId": caller.org_id, "name": claimed["name"],
                "description": claimed.get("description"), "phases": claimed["roadmap"]["phases"],
                "actor": {"userId": caller.user_id, "via": "agent", "draftId": claimed["id"]}},
                timeout=max(self.settings.command_timeout, 15))
        except ApiError as exc:
            if exc.status < 500:    # boards refused: nothing was created
                self.drafts.update(caller.workspace_id, draft["id"], {"executingAtMs": 0})
            raise
        done = self.drafts.update(caller.workspace_id, draft["id"], {"status": "executed", "projectId": project["id"],
                                                                     "executingAtMs": 0})
        return draft_out(done)
