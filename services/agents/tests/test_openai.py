"""The `openai` provider against a local fake chat-completions server (a real HTTP server): the request it
sends (model, key, messages, the agent's tools as function tools), tool_calls mapped to tools, the failure
modes (timeout, 429, 500, a refused request, malformed tool arguments, a non-completion), the wizard's JSON;
then a whole mission run by the worker's Runner with this provider on a real card of the test stack."""
from __future__ import annotations

import pytest

from services.agents.llm import LLMError
from services.agents.openai_llm import OpenAILLM

from .fake_openai import FakeOpenAI, call

MESSAGES = [{"role": "system", "content": "You are a bot."}, {"role": "user", "content": "Card X. Request: tidy"}]


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def llm(fake, **kw) -> OpenAILLM:
    return OpenAILLM(base_url=fake.url, model="fake-model", api_key="sk-test", timeout=kw.pop("timeout", 5),
                     max_retries=kw.pop("max_retries", 2), backoff=kw.pop("backoff", 0.01), **kw)


def test_a_turn_sends_the_tools_and_maps_the_tool_calls(fake):
    fake.add(content="Reading first.", tokens=42,
             tool_calls=[call("c1", "read_card", {"cardId": "a" * 24}),
                         call("c2", "comment", {"content": "Hi", "extra": 1})])
    turn = llm(fake).next_turn(messages=MESSAGES, tools=["read_card", "comment"], context={})
    assert turn.thought == "Reading first." and turn.tokens == 42 and turn.final is None
    assert [(c.id, c.name, c.arguments, c.error) for c in turn.calls] == [
        ("c1", "read_card", {"cardId": "a" * 24}, None), ("c2", "comment", {"content": "Hi", "extra": 1}, None)]
    [request] = fake.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    body = request["body"]
    assert body["model"] == "fake-model" and body["messages"] == MESSAGES and body["tool_choice"] == "auto"
    assert [t["function"]["name"] for t in body["tools"]] == ["read_card", "comment"]
    assert all(t["type"] == "function" and t["function"]["parameters"]["type"] == "object" for t in body["tools"])


def test_a_message_without_tool_calls_is_the_final_answer(fake):
    fake.add(content="All done: two items added.")
    turn = llm(fake).next_turn(messages=MESSAGES, tools=[], context={})
    assert turn.final == "All done: two items added." and turn.calls == []
    assert "tools" not in fake.requests[0]["body"]


def test_malformed_tool_arguments_become_an_error_for_the_model(fake):
    fake.add(tool_calls=[call("c1", "comment", "{not json"), call("c2", "comment", "[1, 2]"),
                         call("c3", "comment", "")])
    turn = llm(fake).next_turn(messages=MESSAGES, tools=["comment"], context={})
    assert [(c.arguments, c.error) for c in turn.calls] == [
        (None, "malformed arguments: not valid JSON"), (None, "malformed arguments: not a JSON object"), ({}, None)]


def test_429_and_500_are_retried_with_backoff(fake):
    slept = []
    fake.add(status=429, headers={"Retry-After": "0.05"}).add(status=500).add(content="ok")
    turn = llm(fake, sleep=slept.append).next_turn(messages=MESSAGES, tools=[], context={})
    assert turn.final == "ok" and len(fake.requests) == 3
    assert slept == [0.05, 0.02]            # the server's Retry-After, then backoff × 2^1


def test_the_retries_end_in_an_llm_error(fake):
    for _ in range(3):
        fake.add(status=503)
    with pytest.raises(LLMError, match="failed 3 times.*HTTP 503"):
        llm(fake).next_turn(messages=MESSAGES, tools=[], context={})
    assert len(fake.requests) == 3


def test_a_timeout_is_retried_then_fails(fake):
    fake.add(delay=1.0).add(content="second try")
    assert llm(fake, timeout=0.3).next_turn(messages=MESSAGES, tools=[], context={}).final == "second try"
    fake.add(delay=1.0).add(delay=1.0)
    with pytest.raises(LLMError, match="timed out"):
        llm(fake, timeout=0.3, max_retries=1).next_turn(messages=MESSAGES, tools=[], context={})


def test_a_refused_request_is_not_retried_and_nonsense_is_an_error(fake):
    fake.add(status=400)
    with pytest.raises(LLMError, match="HTTP 400"):
        llm(fake).next_turn(messages=MESSAGES, tools=[], context={})
    assert len(fake.requests) == 1
    fake.add(raw='{"choices": []}')
    with pytest.raises(LLMError, match="not a chat completion"):
        llm(fake).next_turn(messages=MESSAGES, tools=[], context={})
    fake.add(raw="<html>oops</html>")
    with pytest.raises(LLMError):
        llm(fake).next_turn(messages=MESSAGES, tools=[], context={})


def test_an_unreachable_server_is_an_llm_error():
    with pytest.raises(LLMError, match="unreachable"):
        OpenAILLM(base_url="http://127.0.0.1:9/v1", model="m", max_retries=1, backoff=0.01).next_turn(
            messages=MESSAGES, tools=[], context={})


def test_the_wizard_asks_for_json(fake):
    draft = {"id": "d", "name": "Billing v2", "description": "Invoices", "questions": [{"id": "q1", "question": "When?"}],
             "answers": [{"questionId": "q1", "answer": "March"}]}
    docs = [{"title": "Spec", "content": {"type": "doc", "content": [{"type": "text", "text": "Use Stripe"}]}}]
    fake.add(content='```json\n{"questions": ["Which PSP?", "Who signs off?"]}\n```')
    assert llm(fake).draft_questions(draft=draft, documents=docs) == ["Which PSP?", "Who signs off?"]
    sent = fake.requests[-1]["body"]["messages"][1]["content"]
    assert "Use Stripe" in sent and "March" in sent and "Billing v2" in sent
    fake.add(content='{"questions": []}')
    assert llm(fake).follow_up(draft=draft, documents=docs) == []
    roadmap = {"phases": [{"name": "Build", "deliverables": [{"title": "API", "description": "REST"}]}]}
    fake.add(content=__import__("json").dumps(roadmap))
    assert llm(fake).roadmap(draft=draft, documents=docs) == roadmap
    fake.add(content="Sure! Here are questions: 1. …")
    with pytest.raises(LLMError, match="JSON"):
        llm(fake).draft_questions(draft=draft, documents=docs)


# ---------------------------------------------------------------------------- a whole mission, on the stack
@pytest.fixture
def runner_for(stack):
    """A Runner in this process (the stack's agents worker stopped meanwhile, so that it runs nothing) with
    the openai provider pointed at `fake`."""
    from libs.common.bus import Outbox, SyncNats
    from libs.common.mongo import connect
    from services.agents.journal import Journal
    from services.agents.runner import Runner
    from services.agents.settings import Settings
    from services.agents.storage import Stores

    stack.kill("agents", "worker")
    client = connect(stack.env["MONGO_URI"], "agents-test")
    settings = Settings({"mongo_uri": stack.env["MONGO_URI"], "nats_url": stack.env["NATS_URL"],
                         "mongo_db_prefix": "stellary_"})
    bus = SyncNats(settings.nats_url, "agents-test")
    db = client[settings.mongo_db]
    stores = Stores(db)
    journal = Journal(stores=stores, outbox=Outbox(db, bus=bus), client=client, announce=bus.publish)

    def build(fake, **kw):
        return Runner(stores=stores, journal=journal, bus=bus, llm=llm(fake, **kw), settings=settings)

    try:
        yield build
    finally:
        bus.close()
        client.close()
        stack.spawn("agents", "worker")


def test_a_mission_run_with_the_openai_provider(owner, project, card, fake, runner_for):
    from .conftest import get_card, make_agent, mission, start

    agent = make_agent(owner, tools=["read_card", "checklist", "move_card", "comment"])
    m = start(owner, agent, card, prompt="Add what is missing")
    fake.add(content="Let me look at the card.", tool_calls=[call("c1", "read_card", {"cardId": card["id"]})])
    fake.add(tool_calls=[call("c2", "checklist", {"action": "add", "title": "From the model"}),
                         call("c3", "move_card", "{oops"),
                         call("c4", "create_card", {"title": "Not allowed"}),
                         call("c5", "checklist", {"action": "explode"})])
    fake.add(content="Added one checklist item.")
    runner_for(fake).take(m["id"])
    done = mission(owner, m)
    assert done["status"] == "completed", done
    assert done["result"]["summary"] == "Added one checklist item."
    assert done["usage"] == {"steps": 5, "seconds": done["usage"]["seconds"], "tokens": 36}
    results = {s["data"]["callId"]: s["data"] for s in done["steps"] if s["type"] == "tool_result"}
    assert [results[c]["outcome"] for c in ("c1", "c2", "c3", "c4", "c5")] == ["read", "applied", "error", "denied",
                                                                               "error"]
    assert "malformed" in results["c3"]["error"] and "invalid arguments" in results["c5"]["error"]
    assert [i["title"] for i in get_card(owner, project, card)["checklist"]] == ["From the model"]
    first, second, third = (r["body"] for r in fake.requests)
    assert [t["function"]["name"] for t in first["tools"]] == ["read_card", "comment", "move_card", "checklist"]
    assert first["messages"][1]["content"].endswith("Request: Add what is missing")
    assert second["messages"][-2]["tool_calls"][0]["id"] == "c1"
    tool_answer = __import__("json").loads(second["messages"][-1]["content"])
    assert tool_answer["outcome"] == "read" and tool_answer["output"]["card"]["id"] == card["id"]
    assert [m_["tool_call_id"] for m_ in third["messages"] if m_["role"] == "tool"] == ["c1", "c2", "c3", "c4", "c5"]


def test_an_unreachable_model_fails_the_mission(owner, card, fake, runner_for):
    from .conftest import make_agent, mission, start

    m = start(owner, make_agent(owner), card)
    for _ in range(3):
        fake.add(status=500)
    runner_for(fake).take(m["id"])
    failed = mission(owner, m)
    assert (failed["status"], failed["error"]) == ("failed", "llm_error") and "HTTP 500" in failed["errorMessage"]
