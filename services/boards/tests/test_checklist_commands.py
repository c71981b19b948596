"""cmd.boards.add_checklist_item / update_checklist_item (the agents' `checklist` tool): scoped by workspace,
validated, the card's progress and `boards.checklist.completed` follow as for the HTTP endpoints."""
from tests.support import wait_until

from .helpers import P, make_card, make_project


def test_checklist_commands(owner, outsider, tap):
    p = make_project(owner, name="Checklists by command")
    card = make_card(owner, p, title="With items")
    ws = p["workspaceId"]
    actor = {"userId": owner.user_id, "via": "agent"}

    added = tap.request("cmd.boards.add_checklist_item", {"workspaceId": ws, "cardId": card["id"], "title": "Spec",
                                                          "actor": actor})
    assert added["ok"], added
    item = added["data"]
    assert item["title"] == "Spec" and item["done"] is False and item["order"] == 0 and item["_id"]
    second = tap.request("cmd.boards.add_checklist_item", {"workspaceId": ws, "cardId": card["id"], "title": "Tests",
                                                           "done": True, "actor": actor})["data"]
    assert second["order"] == 1 and second["done"] is True

    checked = tap.request("cmd.boards.update_checklist_item", {"workspaceId": ws, "cardId": card["id"],
                                                               "itemId": item["_id"], "changes": {"done": True},
                                                               "actor": actor})
    assert checked["ok"] and checked["data"]["done"] is True
    tap.wait_for(lambda e: e["type"] == "boards.checklist.completed" and e["data"]["card"]["id"] == card["id"],
                 message="checklist completed")
    got = wait_until(lambda: owner.get(f"{P(owner, p)}/cards/{card['id']}").json())
    assert [(i["title"], i["done"]) for i in got["checklist"]] == [("Spec", True), ("Tests", True)]
    assert got["checklistProgress"] == 100

    for bad in ({"title": ""}, {"title": "x" * 501}, {}):
        reply = tap.request("cmd.boards.add_checklist_item", {"workspaceId": ws, "cardId": card["id"], "actor": actor}
                            | bad)
        assert reply["ok"] is False and reply["statusCode"] == 400, reply
    reply = tap.request("cmd.boards.update_checklist_item", {"workspaceId": ws, "cardId": card["id"],
                                                             "itemId": "nope", "changes": {"done": False}})
    assert reply["statusCode"] == 404
    reply = tap.request("cmd.boards.update_checklist_item", {"workspaceId": ws, "cardId": card["id"],
                                                             "itemId": item["_id"], "changes": {"done": "maybe"}})
    assert reply["statusCode"] == 400

    theirs = make_project(outsider)["workspaceId"]
    for verb, extra in (("add_checklist_item", {"title": "x"}),
                        ("update_checklist_item", {"itemId": item["_id"], "changes": {"done": False}})):
        reply = tap.request(f"cmd.boards.{verb}", {"workspaceId": theirs, "cardId": card["id"], "actor": actor} | extra)
        assert reply["ok"] is False and reply["statusCode"] == 404, (verb, reply)
    assert len(owner.get(f"{P(owner, p)}/cards/{card['id']}").json()["checklist"]) == 2
