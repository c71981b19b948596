"""What following a card's due date costs the database per event (pymongo command monitoring): the
events that cannot change the schedule cost it nothing."""
from pymongo import MongoClient, monitoring

from libs.common.mongo import new_id
from services.automations.events import follow_due_date
from services.automations.storage import Stores


class Commands(monitoring.CommandListener):
    def __init__(self):
        self.seen: list[tuple[str, str]] = []

    def started(self, event):
        self.seen.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class Wakes:
    """What the scheduler is told (its own loop is not under test here)."""

    def __init__(self):
        self.due: list[int] = []

    def wake(self, due_ms=None):
        self.due.append(due_ms)


def _card_event(kind: str, card: dict, changes: dict | None = None) -> dict:
    return {"id": new_id(), "type": kind, "workspaceId": new_id(), "orgId": new_id(), "projectId": "p1",
            "data": {"project": {"id": "p1", "name": "Board"}, "projectMemberIds": ["u1"], "card": card,
                     "changes": changes or {}}}


def test_the_due_date_schedule_costs_a_new_card_without_one_no_command(stack):
    commands = Commands()
    client = MongoClient(stack.env["MONGO_URI"], event_listeners=[commands])
    try:
        stores = Stores(client[f"t{new_id()[-6:]}_automations"])
        stores.ensure_indexes()
        wakes = Wakes()
        plain = {"id": new_id(), "title": "No date", "dueDate": None}
        commands.seen.clear()
        follow_due_date(stores, wakes, _card_event("boards.card.created", plain))
        assert commands.seen == [] and wakes.due == []

        dated = {"id": new_id(), "title": "Dated", "dueDate": "2099-01-01T00:00:00.000Z"}
        follow_due_date(stores, wakes, _card_event("boards.card.created", dated))
        assert [name for name, _ in commands.seen] == ["update"] and len(wakes.due) == 1
        assert stores.due.next_ms() == wakes.due[0]

        commands.seen.clear()   # the date cleared: its row goes
        follow_due_date(stores, wakes, _card_event("boards.card.updated", dated | {"dueDate": None},
                                                   {"dueDate": {"from": dated["dueDate"], "to": None}}))
        assert [name for name, _ in commands.seen] == ["delete"]
        assert stores.due.next_ms() is None
    finally:
        client.close()
