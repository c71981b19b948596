"""Pure parts of the agents service: the policy table, the local planner's decisions, the conversation rebuilt
from a mission's log (what a resumed run sends the model)."""
from __future__ import annotations

import json

import pytest

from services.agents.planner import LocalLLM, checklist_items
from services.agents.runner import build_messages, offered_tools, policy_for

ALL = ["read_card", "comment", "update_card", "move_card", "checklist", "create_card"]


@pytest.mark.parametrize("mode,policies,tool,expected", [
    ("autonomous", {}, "comment", "apply"),
    ("supervised", {}, "comment", "propose"),
    ("approval", {}, "comment", "bundle"),
    ("supervised", {}, "read_card", "read"),
    ("autonomous", {"comment": "approve"}, "comment", "propose"),
    ("supervised", {"comment": "auto"}, "comment", "apply"),
    ("approval", {"comment": "auto"}, "comment", "apply"),
    ("autonomous", {"comment": "deny"}, "comment", "deny"),
    ("autonomous", {"read_card": "deny"}, "read_card", "deny"),
    ("autonomous", {"read_card": "approve"}, "read_card", "read"),     # a read changes nothing: never a proposal
    ("autonomous", {}, "launch_rockets", "deny"),
])
def test_policy_for(mode, policies, tool, expected):
    assert policy_for({"autonomyMode": mode, "tools": ALL, "toolPolicies": policies}, tool) == expected


def test_a_tool_the_agent_lacks_is_denied_and_not_offered():
    agent = {"autonomyMode": "autonomous", "tools": ["read_card", "comment"], "toolPolicies": {"comment": "deny"}}
    assert policy_for(agent, "move_card") == "deny"
    assert offered_tools(agent) == ["read_card"]


def test_checklist_items_from_bullets_or_sentences():
    assert checklist_items("- one thing\n* two things\n3. three things") == ["One thing", "Two things", "Three things"]
    assert checklist_items("We need a spec. Then build it now; ship. Ok") == ["We need a spec", "Then build it now"]
    assert checklist_items("") == [] and checklist_items(None) == []
    assert len(checklist_items("\n".join(f"- item {n}" for n in range(20)))) == 8


def _read(card, columns):
    return {"ok": True, "outcome": "read", "output": {"card": card, "columns": columns}}


def test_the_local_planner_decides_from_the_card_and_what_was_done():
    llm = LocalLLM()
    columns = [{"id": "c1", "name": "To Do"}, {"id": "c2", "name": "Done"}]
    context = {"cardId": "k", "prompt": "tidy", "agentName": "Bot"}
    first = llm.next_turn(messages=[], tools=ALL, context=context)
    assert [c.name for c in first.calls] == ["read_card"]
    card = {"id": "k", "projectId": "p", "title": "T", "columnId": "c1", "priority": "low",
            "checklist": [{"_id": "i", "title": "x", "done": True}]}
    messages = [{"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "read_card", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "a", "content": json.dumps(_read(card, columns))}]
    move = llm.next_turn(messages=messages, tools=ALL, context=context)
    assert [(c.name, c.arguments["targetColumn"]) for c in move.calls] == [("move_card", "Done")]
    without_move = llm.next_turn(messages=messages, tools=["read_card", "comment"], context=context)
    assert [c.name for c in without_move.calls] == ["comment"] and "1/1 done" in without_move.calls[0].arguments["content"]
    nothing = llm.next_turn(messages=messages, tools=["read_card"], context=context)
    assert nothing.calls == [] and nothing.final and nothing.tokens > 0


def test_a_resumed_run_tries_again_what_was_interrupted():
    llm = LocalLLM()
    card = {"id": "k", "projectId": "p", "title": "T", "columnId": "c1", "priority": "medium", "checklist": [],
            "description": "- a b c\n- d e f"}
    messages = [
        {"role": "assistant", "tool_calls": [{"id": "a", "function": {"name": "read_card", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": json.dumps(_read(card, [{"id": "c1", "name": "To Do"}]))},
        {"role": "assistant", "tool_calls": [
            {"id": "b", "function": {"name": "checklist", "arguments": json.dumps({"action": "add", "title": "A b c"})}},
            {"id": "c", "function": {"name": "checklist", "arguments": json.dumps({"action": "add", "title": "D e f"})}}]},
        {"role": "tool", "tool_call_id": "b", "content": json.dumps({"ok": True, "outcome": "applied"})},
        {"role": "tool", "tool_call_id": "c", "content": json.dumps({"ok": False, "outcome": "interrupted"})},
    ]
    turn = llm.next_turn(messages=messages, tools=ALL, context={"cardId": "k", "prompt": "x"})
    assert [(c.name, c.arguments.get("title")) for c in turn.calls] == [("checklist", "D e f")]


def test_the_conversation_is_rebuilt_from_the_log():
    mission = {"cardId": "k", "projectId": "p", "prompt": "Do it"}
    agent = {"name": "Bot", "description": "Helps."}
    steps = [
        {"type": "status", "data": {"status": "running"}},
        {"type": "thought", "data": {"text": "Reading.", "turn": 1}},
        {"type": "tool_call", "data": {"callId": "a", "tool": "read_card", "arguments": {"cardId": "k"}, "turn": 1}},
        {"type": "tool_result", "data": {"callId": "a", "tool": "read_card", "ok": True, "outcome": "read",
                                         "output": {"card": {}}}},
        {"type": "tool_call", "data": {"callId": "b", "tool": "comment", "arguments": None, "turn": 2}},
    ]
    messages = build_messages(mission, agent, steps)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert "Bot" in messages[0]["content"] and messages[1]["content"].endswith("Request: Do it")
    assert messages[2]["content"] == "Reading." and messages[2]["tool_calls"][0]["function"]["name"] == "read_card"
    assert json.loads(messages[3]["content"])["outcome"] == "read"
    assert json.loads(messages[5]["content"]) == {"ok": False, "outcome": "interrupted"}
