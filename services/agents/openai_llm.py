"""The `openai` LLM: any OpenAI-compatible chat-completions server (OpenAI, Azure-style proxies, vLLM,
Ollama, llama.cpp's server…), `POST {AGENTS_LLM_BASE_URL}/chat/completions`.

A mission turn sends the conversation and the agent's offered tools as function tools
(`{"type": "function", "function": {name, description, parameters}}`); the answer's `tool_calls` become
ToolCalls (arguments that are not a JSON object are kept as an error the model is told about); a message
without tool calls is the run's final summary. `usage.total_tokens` feeds the mission's token budget.
The wizard asks for JSON (`{"questions": [...]}`, `{"phases": [...]}`), fenced or not.

A timeout, a transport error, a 429 or a 5xx is retried `max_retries` times, waiting `backoff` × 2^attempt
seconds (or the server's Retry-After, at most 30 s); another 4xx, or an answer that is not a chat completion,
is an LLMError at once.
"""
from __future__ import annotations

import json
import re
import time

import httpx

from .llm import LLM, LLMError, ToolCall, Turn
from .planner import doc_text
from .tools import function_specs

FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


class OpenAILLM(LLM):
    name = "openai"

    def __init__(self, *, base_url: str, model: str, api_key: str = "", timeout: float = 60.0,
                 max_retries: int = 3, backoff: float = 1.0, sleep=time.sleep):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep

    # ------------------------------------------------------------------ HTTP
    def complete(self, body: dict) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            wait = self.backoff * 2 ** attempt
            try:
                response = httpx.post(self.url, json={"model": self.model} | body, headers=headers,
                                      timeout=self.timeout)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout} s"
            except httpx.TransportError as exc:
                last = f"unreachable ({exc.__class__.__name__})"
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    last = f"HTTP {response.status_code}"
                    retry_after = response.headers.get("Retry-After", "")
                    if retry_after.replace(".", "", 1).isdigit():
                        wait = float(retry_after)
                elif response.status_code >= 400:
                    raise LLMError(f"the LLM server refused the request: HTTP {response.status_code} "
                                   f"{response.text[:200]}")
                else:
                    return self._completion(response)
            if attempt < self.max_retries:
                self.sleep(min(wait, 30.0))
        raise LLMError(f"the LLM server failed {self.max_retries + 1} times (last: {last})")

    @staticmethod
    def _completion(response) -> dict:
        try:
            data = response.json()
            message = data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError("the LLM server's answer is not a chat completion") from None
        if not isinstance(message, dict):
            raise LLMError("the LLM server's answer is not a chat completion")
        return data

    # ------------------------------------------------------------------ missions
    def next_turn(self, *, messages: list[dict], tools: list[str], context: dict) -> Turn:
        body: dict = {"messages": messages}
        if tools:
            body["tools"] = function_specs(tools)
            body["tool_choice"] = "auto"
        data = self.complete(body)
        message = data["choices"][0]["message"]
        tokens = int(((data.get("usage") or {}).get("total_tokens")) or 0)
        calls = []
        for n, raw in enumerate(message.get("tool_calls") or []):
            fn = (raw or {}).get("function") or {}
            arguments, error = fn.get("arguments"), None
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments) if arguments.strip() else {}
                except ValueError:
                    arguments, error = None, "malformed arguments: not valid JSON"
            if arguments is not None and not isinstance(arguments, dict):
                arguments, error = None, "malformed arguments: not a JSON object"
            calls.append(ToolCall(id=str(raw.get("id") or f"call_{n}"), name=str(fn.get("name") or ""),
                                  arguments=arguments, error=error))
        content = message.get("content") if isinstance(message.get("content"), str) else None
        if calls:
            return Turn(thought=content, calls=calls, tokens=tokens)
        return Turn(final=content or "", tokens=tokens)

    # ------------------------------------------------------------------ the project wizard
    def _json(self, instruction: str, payload: dict) -> dict:
        data = self.complete({"messages": [
            {"role": "system", "content": "You help plan projects in a kanban tool. " + instruction +
                                          " Answer with JSON only."},
            {"role": "user", "content": json.dumps(payload, default=str)}]})
        content = data["choices"][0]["message"].get("content") or ""
        match = FENCE.match(content)
        try:
            value = json.loads(match.group(1) if match else content)
        except ValueError:
            raise LLMError("the LLM did not answer JSON") from None
        if not isinstance(value, dict):
            raise LLMError("the LLM did not answer a JSON object")
        return value

    @staticmethod
    def _context(draft: dict, documents: list[dict]) -> dict:
        questions = {q["id"]: q["question"] for q in draft.get("questions") or []}
        return {"name": draft["name"], "description": draft.get("description"),
                "documents": [{"title": d.get("title"), "text": doc_text(d.get("content"))[:4000]} for d in documents],
                "answers": [{"question": questions.get(a["questionId"]), "answer": a["answer"]}
                            for a in draft.get("answers") or []]}

    @staticmethod
    def _strings(value, key: str) -> list[str]:
        items = value.get(key)
        if not isinstance(items, list):
            raise LLMError(f"the LLM's JSON has no '{key}' list")
        return [str(q).strip() for q in items if str(q).strip()][:10]

    def draft_questions(self, *, draft: dict, documents: list[dict]) -> list[str]:
        value = self._json('Ask 3 to 8 questions that scope this project, adapted to its name, description and '
                           'context documents: {"questions": ["…"]}.', self._context(draft, documents))
        return self._strings(value, "questions")

    def follow_up(self, *, draft: dict, documents: list[dict]) -> list[str]:
        value = self._json('Given the answers so far, ask the follow-up questions still needed (none when the '
                           'project is clear): {"questions": ["…"]}.', self._context(draft, documents))
        return self._strings(value, "questions")

    def roadmap(self, *, draft: dict, documents: list[dict]) -> dict:
        return self._json('Write a phased roadmap: {"phases": [{"name": "…", "deliverables": [{"title": "…", '
                          '"description": "…"}]}]} (3 to 6 phases).', self._context(draft, documents))
