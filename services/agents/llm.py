"""The LLM behind one interface, chosen by settings (AGENTS_LLM_PROVIDER):

    local   planner.LocalLLM — deterministic, no network; reads the card, proposes checklist items from its
            description, moves it when its checklist is done, comments a summary; drafts wizard questions
            and a phased roadmap from the draft's name, description, answers and context documents
    openai  openai_llm.OpenAILLM — any OpenAI-compatible chat-completions server (base URL, model, key,
            timeout, retries with backoff); the agent's tools are function tools, tool_calls map to them

A mission's conversation is OpenAI chat messages (system, user, then assistant turns with `tool_calls` and
their `tool` answers), rebuilt from the mission's log when a run resumes; both providers read the same.

    turn = llm.next_turn(messages=messages, tools=["read_card", "comment"], context={"cardId": …, "prompt": …})
    turn.calls -> [ToolCall(id, name, arguments | None, error)]; turn.final -> the run's summary when done
"""
from __future__ import annotations

from dataclasses import dataclass, field


class LLMError(Exception):
    """The model could not be reached or answered nonsense (after the retries): the mission fails."""


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict | None          # None when the model's arguments were not a JSON object
    error: str | None = None        # why they could not be read


@dataclass
class Turn:
    thought: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    final: str | None = None
    tokens: int = 0


class LLM:
    """The interface both providers implement."""

    name = "llm"

    def next_turn(self, *, messages: list[dict], tools: list[str], context: dict) -> Turn:
        raise NotImplementedError

    def draft_questions(self, *, draft: dict, documents: list[dict]) -> list[str]:
        """The first round of wizard questions."""
        raise NotImplementedError

    def follow_up(self, *, draft: dict, documents: list[dict]) -> list[str]:
        """Further questions after a refine round (none: the draft is clear enough)."""
        raise NotImplementedError

    def roadmap(self, *, draft: dict, documents: list[dict]) -> dict:
        """{"phases": [{"name", "deliverables": [{"title", "description"}]}]}"""
        raise NotImplementedError


def build_llm(settings) -> LLM:
    if settings.llm_provider == "openai":
        from .openai_llm import OpenAILLM

        return OpenAILLM(base_url=settings.llm_base_url, model=settings.llm_model, api_key=settings.llm_api_key,
                         timeout=settings.llm_timeout, max_retries=settings.llm_max_retries,
                         backoff=settings.llm_backoff)
    if settings.llm_provider != "local":
        raise ValueError(f"AGENTS_LLM_PROVIDER must be local or openai, not {settings.llm_provider!r}")
    from .planner import LocalLLM

    return LocalLLM(step_delay_ms=settings.local_step_delay_ms)
