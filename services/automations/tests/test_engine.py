"""The engine's pure rules: which event fires which trigger, conditions, the chain (no stack needed)."""
from services.automations import engine


def env(kind, **data):
    return {"id": "e1", "type": kind, "actor": {"userId": "u", "via": "user"}, "data": data}


def test_triggers_of_each_boards_event():
    assert engine.triggers_for(env("boards.card.created")) == ["task_created", "task_added_to_board"]
    assert engine.triggers_for(env("boards.card.moved")) == ["task_moved", "task_status_changed"]
    assert engine.triggers_for(env("boards.card.archived")) == ["task_status_changed"]
    restored = env("boards.card.updated", changes={"archived": {"before": True, "after": False}})
    assert engine.triggers_for(restored) == ["task_status_changed", "task_added_to_board"]
    assert engine.triggers_for(env("boards.card.updated", changes={"title": {"before": "a", "after": "b"}})) == []
    assert engine.triggers_for(env("boards.card.assigned", assigneeId="x")) == ["task_assigned"]
    assert engine.triggers_for(env("boards.card.assigned", assigneeId=None)) == []
    assert engine.triggers_for(env("boards.checklist.completed")) == ["checklist_complete"]
    assert engine.triggers_for(env(engine.DUE)) == ["due_date_reached"]
    assert engine.triggers_for(env("boards.comment.added")) == []


def test_conditions_see_the_card_and_the_move():
    card = {"columnId": "c2", "priority": "high", "labelIds": ["l1"], "assigneeId": None}
    moved = engine.facts_of(env("boards.card.moved", card=card, meta={"fromColumnId": "c1", "toColumnId": "c2"}))
    assert engine.check({"fromColumnId": "c1", "toColumnId": "c2", "columnId": "c2", "priority": "high",
                         "labelId": "l1", "assigneeId": None}, moved) == dict.fromkeys(
        ("fromColumnId", "toColumnId", "columnId", "priority", "labelId", "assigneeId"), True)
    created = engine.facts_of(env("boards.card.created", card=card))
    assert engine.check({"fromColumnId": "c1", "toColumnId": "c2", "labelId": "l9", "priority": "low"}, created) == {
        "fromColumnId": False, "toColumnId": True, "labelId": False, "priority": False}
    assert engine.check({}, created) == {}


def test_a_chain_starts_at_a_user_change_and_follows_an_automation_actor():
    assert engine.chain_of(env("boards.card.moved")) == {"id": "e1", "depth": 0, "path": []}
    auto = env("boards.card.moved")
    auto["actor"] = {"userId": "u", "via": "automation", "chain": {"id": "root", "depth": 2, "path": ["r:c"]}}
    assert engine.chain_of(auto) == {"id": "root", "depth": 2, "path": ["r:c"]}
    forged = env("boards.card.moved")
    forged["actor"] = {"userId": "u", "via": "user", "chain": {"id": "root", "depth": 4}}
    assert engine.chain_of(forged)["depth"] == 0  # only an automation's change continues a chain
    assert engine.run_key("r", "c") == "r:c"
