"""The `local` LLM: a deterministic planner that needs no network and still does useful work.

A mission (one decision per turn, from the card and what was done so far — so a resumed run carries on
where it stopped):
    1. read the card (its fields, checklist and the board's columns);
    2. the prompt asks for urgency ("urgent", "asap", "critical", "prioritize"…) → priority high
       ("low priority" → low);
    3. an empty checklist and a description → one checklist item per bullet / sentence of the description;
    4. a checklist entirely done and the card not in the board's last column → move it there;
    5. the prompt asks for a follow-up → a "Follow-up: <title>" card in the first column;
    6. a comment summarising the card and what the mission did; then the final summary.
The project wizard: questions from the draft's name, description and context documents (topics it
recognises, each with its questions and deliverables), follow-ups for vague answers, a phased roadmap.
"""
from __future__ import annotations

import json
import re
import time

from .llm import LLM, ToolCall, Turn

URGENT = re.compile(r"\b(urgent|asap|critical|high[- ]priority|prioriti[sz]e|blocker)\b", re.I)
LOW = re.compile(r"\blow[- ]priority\b", re.I)
FOLLOW_UP = re.compile(r"\bfollow[- ]?up\b", re.I)
BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\[ ?\])\s+(.+)$")
VAGUE = re.compile(r"^\s*(\?+|n/?a|no idea|unknown|not sure|tbd|don'?t know|idk|maybe|-)\s*\.?\s*$", re.I)
MAX_ITEMS = 8


def checklist_items(description: str | None) -> list[str]:
    """Checklist items a description implies: its bullets, else its sentences of three words or more."""
    if not description:
        return []
    lines = [m.group(1).strip() for m in (BULLET.match(x) for x in description.splitlines()) if m]
    if not lines:
        lines = [s.strip(" -•\t") for s in re.split(r"(?<=[.!?;])\s+|\n+", description)]
        lines = [s.rstrip(".;") for s in lines if len(s.split()) >= 3]
    out, seen = [], set()
    for line in lines:
        line = line[:200].strip()
        if line and line.lower() not in seen:
            seen.add(line.lower())
            out.append(line[0].upper() + line[1:])
    return out[:MAX_ITEMS]


def _tokens(payload) -> int:
    """A deterministic stand-in for a model's token count: ~4 characters a token."""
    return max(1, len(json.dumps(payload, default=str)) // 4)


def history(messages: list[dict]) -> list[dict]:
    """[{name, arguments, result}] of the calls made so far, in order."""
    results = {m.get("tool_call_id"): m.get("content") for m in messages if m.get("role") == "tool"}
    out = []
    for message in messages:
        for call in message.get("tool_calls") or [] if message.get("role") == "assistant" else []:
            fn = call.get("function") or {}
            try:
                args = json.loads(fn.get("arguments") or "{}")
            except ValueError:
                args = {}
            try:
                result = json.loads(results.get(call.get("id")) or "null")
            except ValueError:
                result = None
            out.append({"name": fn.get("name"), "arguments": args, "result": result})
    return out


class LocalLLM(LLM):
    name = "local"

    def __init__(self, *, step_delay_ms: int = 0):
        self.step_delay_ms = step_delay_ms
        self._n = 0

    def _call(self, turn_no: int, name: str, arguments: dict) -> ToolCall:
        self._n += 1
        return ToolCall(id=f"call_{turn_no}_{self._n}", name=name, arguments=arguments)

    # ------------------------------------------------------------------ missions
    def next_turn(self, *, messages: list[dict], tools: list[str], context: dict) -> Turn:
        if self.step_delay_ms:
            time.sleep(self.step_delay_ms / 1000)
        done = history(messages)
        turn_no = sum(1 for m in messages if m.get("role") == "assistant") + 1
        tokens = _tokens(messages)
        # what was tried (a call the run stopped during counts as not tried: a resumed run tries it again)
        done = [h for h in done if (h["result"] or {}).get("outcome") != "interrupted"]
        called = {h["name"] for h in done}
        reads = [h["result"]["output"] for h in done if h["name"] == "read_card" and (h["result"] or {}).get("ok")]
        if not reads:
            if "read_card" in tools and "read_card" not in called:
                return Turn(thought="Reading the card, its checklist and the board's columns.",
                            calls=[self._call(turn_no, "read_card", {"cardId": context["cardId"]})], tokens=tokens)
            return Turn(final="I could not read the card, so I changed nothing.", tokens=tokens)
        card, columns = reads[-1]["card"], reads[-1]["columns"]
        prompt = context.get("prompt") or ""
        calls, thoughts = [], []
        if "update_card" in tools and "update_card" not in called:
            wanted = "high" if URGENT.search(prompt) else "low" if LOW.search(prompt) else None
            if wanted and card.get("priority") != wanted:
                thoughts.append(f"The request reads as {'urgent' if wanted == 'high' else 'not urgent'}: "
                                f"priority {card.get('priority')} → {wanted}.")
                calls.append(self._call(turn_no, "update_card", {"cardId": card["id"], "priority": wanted}))
        checklist = card.get("checklist") or []
        if "checklist" in tools and not checklist:
            tried = {(h["arguments"].get("title") or "").lower() for h in done if h["name"] == "checklist"}
            items = [i for i in checklist_items(card.get("description")) if i.lower() not in tried]
            if items:
                thoughts.append(f"The checklist is empty: {len(items)} item(s) from the description.")
                calls += [self._call(turn_no, "checklist", {"cardId": card["id"], "action": "add", "title": t})
                          for t in items]
        if ("move_card" in tools and "move_card" not in called and checklist and all(i.get("done") for i in checklist)
                and columns and card.get("columnId") != columns[-1]["id"]):
            thoughts.append(f"Every checklist item is done: moving the card to {columns[-1]['name']}.")
            calls.append(self._call(turn_no, "move_card", {"cardId": card["id"], "targetColumn": columns[-1]["name"]}))
        if "create_card" in tools and "create_card" not in called and FOLLOW_UP.search(prompt):
            thoughts.append("A follow-up was asked for: creating its card.")
            calls.append(self._call(turn_no, "create_card", {"projectId": card["projectId"],
                                                             "columnId": columns[0]["id"] if columns else None,
                                                             "title": f"Follow-up: {card['title']}"[:500]}))
        if calls:
            for c in calls:
                c.arguments = {k: v for k, v in c.arguments.items() if v is not None}
            return Turn(thought=" ".join(thoughts), calls=calls, tokens=tokens + _tokens([c.arguments for c in calls]))
        summary = self.summary(card, columns, done, context)
        if "comment" in tools and "comment" not in called:
            call = self._call(turn_no, "comment", {"cardId": card["id"], "content": summary})
            return Turn(thought="Writing a summary on the card.", calls=[call], tokens=tokens + _tokens(summary))
        return Turn(final=summary, tokens=tokens + _tokens(summary))

    @staticmethod
    def summary(card: dict, columns: list[dict], done: list[dict], context: dict) -> str:
        checklist = card.get("checklist") or []
        ticked = sum(1 for i in checklist if i.get("done"))
        column = next((c["name"] for c in columns if c["id"] == card.get("columnId")), card.get("column"))
        by = {}
        for h in done:
            if h["name"] == "read_card":
                continue
            outcome = (h["result"] or {}).get("outcome") or "error"
            by.setdefault(outcome, []).append(h["name"])
        actions = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(by.items())) or "none"
        agent = context.get("agentName") or "Agent"
        return (f"{agent} — summary of '{card['title']}': priority {card.get('priority')}, column {column}, "
                f"checklist {ticked}/{len(checklist)} done. Request: {context.get('prompt', '')[:300]}. "
                f"Actions: {actions}.")

    # ------------------------------------------------------------------ the project wizard
    def draft_questions(self, *, draft: dict, documents: list[dict]) -> list[str]:
        name = draft["name"]
        text = corpus(draft, documents)
        questions = [f"What does success look like for '{name}'? Name one measurable outcome.",
                     "By when must it be delivered, and is that date fixed?"]
        if not (draft.get("description") or "").strip():
            questions.insert(0, f"Describe '{name}' in a few sentences: what problem does it solve, and for whom?")
        for topic in topics(text):
            questions.append(topic["question"])
        for doc in documents[:3]:
            questions.append(f"The document '{doc.get('title')}' is part of the context: which of its points are "
                             "requirements for this project, and which are only background?")
        questions += ["Who works on it (roles, how many people)?", "What is explicitly out of scope?"]
        return list(dict.fromkeys(questions))[:10]

    def follow_up(self, *, draft: dict, documents: list[dict]) -> list[str]:
        if draft.get("round", 1) >= 3:
            return []
        asked = {q["id"]: q["question"] for q in draft.get("questions") or []}
        answers = {a["questionId"]: a["answer"] for a in draft.get("answers") or []}
        out = []
        for qid, question in asked.items():
            answer = answers.get(qid)
            if answer is None:
                continue
            if VAGUE.match(answer) or len(answer.split()) < 2:
                out.append(f"You answered \"{answer.strip()}\" to \"{question}\" — can you be more specific?")
        unanswered = [q for qid, q in asked.items() if qid not in answers]
        if unanswered and not out:
            out.append(f"Still open: {unanswered[0]}")
        return out[:3]

    def roadmap(self, *, draft: dict, documents: list[dict]) -> dict:
        text = corpus(draft, documents)
        answers = answers_by_question(draft)
        success = next((a for q, a in answers if "success" in q.lower()), None)
        deadline = next((a for q, a in answers if "by when" in q.lower()), None)
        out_of_scope = next((a for q, a in answers if "out of scope" in q.lower()), None)
        discovery = [{"title": "Goals and success criteria",
                      "description": success or f"Agree on what success means for {draft['name']}."},
                     {"title": "Scope and constraints",
                      "description": "; ".join(x for x in (f"Deadline: {deadline}" if deadline else None,
                                                           f"Out of scope: {out_of_scope}" if out_of_scope else None)
                                               if x) or "List constraints, risks and what is out of scope."}]
        for doc in documents[:5]:
            discovery.append({"title": f"Review of '{doc.get('title')}'",
                              "description": (doc_text(doc.get("content"))[:300] or None)})
        found = topics(text)
        design = [d for t in found for d in t["design"]] or [{"title": "Solution design",
                                                             "description": "How it will be built, and why."}]
        build = [{"title": item, "description": None} for item in checklist_items(draft.get("description"))]
        build += [d for t in found for d in t["build"]]
        if not build:
            build = [{"title": f"Build {draft['name']}", "description": None}]
        launch = [{"title": "Testing and acceptance", "description": "Check every deliverable against the goals."}]
        launch += [d for t in found for d in t["launch"]]
        launch.append({"title": "Go-live" + (f" ({deadline})" if deadline else ""), "description": None})
        phases = [("Discovery", discovery), ("Design", design), ("Build", build), ("Launch", launch)]
        return {"phases": [{"name": n, "deliverables": _unique(d)} for n, d in phases]}


def _unique(deliverables: list[dict]) -> list[dict]:
    seen, out = set(), []
    for d in deliverables:
        key = d["title"].lower()
        if key not in seen:
            seen.add(key)
            out.append({"title": d["title"][:500], "description": d.get("description")})
    return out[:20]


def _d(title, description=None) -> dict:
    return {"title": title, "description": description}


TOPICS = [
    {"words": r"\b(api|apis|backend|endpoints?|integrations?|webhooks?|stripe|billing|payments?)\b",
     "question": "Which systems or third-party services must it integrate with, and who owns them?",
     "design": [_d("API contract", "Endpoints, payloads and error codes, reviewed with the consumers.")],
     "build": [_d("Integration with the external services"), _d("Automated API tests")], "launch": []},
    {"words": r"\b(mobile|ios|android|app store|play store)\b",
     "question": "Which platforms must the first release support (iOS, Android, both)?",
     "design": [_d("Mobile UX mock-ups")], "build": [_d("Mobile app release build")],
     "launch": [_d("Store submission")]},
    {"words": r"\b(web ?site|web|frontend|front-end|landing|ui|ux|dashboard)\b",
     "question": "Who are the main users, and what must they be able to do on day one?",
     "design": [_d("UX mock-ups", "The main screens, validated with users.")], "build": [_d("User interface")],
     "launch": []},
    {"words": r"\b(launch|marketing|campaign|go-to-market|announce|release)\b",
     "question": "Which channels will announce it, and who is the audience?",
     "design": [_d("Launch plan")], "build": [], "launch": [_d("Launch communication")]},
    {"words": r"\b(migrat\w*|legacy|cut-?over)\b",
     "question": "What must be migrated, and can the old system keep running during the switch?",
     "design": [_d("Migration plan", "Order, rollback and the switch-over window.")],
     "build": [_d("Data migration scripts")], "launch": [_d("Switch-over and decommissioning")]},
    {"words": r"\b(data|analytics|metrics|reports?|kpis?)\b",
     "question": "Which metrics or reports matter most, and where does the data come from?",
     "design": [_d("Data model")], "build": [_d("Reports and dashboards")], "launch": []},
    {"words": r"\b(security|compliance|gdpr|audit|privacy)\b",
     "question": "Which compliance or security requirements apply (GDPR, audits…)?",
     "design": [_d("Security and compliance review")], "build": [], "launch": [_d("Compliance sign-off")]},
]


def topics(text: str) -> list[dict]:
    return [t for t in TOPICS if re.search(t["words"], text, re.I)]


def doc_text(content) -> str:
    """The plain text of a TipTap JSON document (or of a string)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for child in node.get("content") or []:
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(content)
    return " ".join(parts).strip()


def corpus(draft: dict, documents: list[dict]) -> str:
    answers = " ".join(a for _, a in answers_by_question(draft))
    docs = " ".join(f"{d.get('title', '')} {doc_text(d.get('content'))}" for d in documents)
    return f"{draft['name']} {draft.get('description') or ''} {answers} {docs}"


def answers_by_question(draft: dict) -> list[tuple[str, str]]:
    questions = {q["id"]: q["question"] for q in draft.get("questions") or []}
    return [(questions.get(a["questionId"], ""), a["answer"]) for a in draft.get("answers") or []]
