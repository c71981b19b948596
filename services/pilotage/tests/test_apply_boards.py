"""Applying card actions performs them in boards, end to end through the gateway
(`STACK_SERVICES=identity,boards,pilotage`): the card really moves, is created, is updated; when
boards refuses (the card is gone), the action stays approved with boards' error recorded."""
import pytest

from tests.support import assert_error, register

pytestmark = pytest.mark.usefixtures("boards_running")


@pytest.fixture
def boards_running(stack):
    if "boards" not in stack.services:
        pytest.fail("these tests need the boards service: run with STACK_SERVICES=identity,boards,pilotage")


@pytest.fixture
def board(owner):
    r = owner.post(owner.W + "/projects", json={"name": "Launch", "templateId": "kanban"})
    assert r.status_code == 201, r.text
    project = r.json()
    columns = {c["name"]: c["id"] for c in project["columns"]}
    assert list(columns) == ["To Do", "In Progress", "Done"]
    P = owner.W + f"/projects/{project['id']}"
    r = owner.post(P + f"/columns/{columns['To Do']}/cards", json={"title": "Stripe integration"})
    assert r.status_code == 201, r.text
    return {"project": project, "columns": columns, "card": r.json(), "P": P}


def approved(client, action_type, payload):
    r = client.post(client.W + "/pilotage/actions/propose",
                    json={"actionType": action_type, "explanation": "All subtasks complete", "payload": payload})
    assert r.status_code == 201, r.text
    action = r.json()
    r = client.post(client.W + f"/pilotage/actions/{action['id']}/review", json={"approved": True, "reason": "ok"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    return action


def apply(client, action):
    return client.post(client.W + f"/pilotage/actions/{action['id']}/apply")


def test_apply_move_card_moves_the_card_in_boards(owner, board):
    card = board["card"]
    action = approved(owner, "move_card", {"cardId": card["id"], "targetColumn": "Done"})
    r = apply(owner, action)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "applied" and done["error"] is None
    assert done["result"]["card"]["id"] == card["id"]
    assert done["result"]["card"]["columnId"] == board["columns"]["Done"]
    got = owner.get(board["P"] + f"/cards/{card['id']}")
    assert got.status_code == 200 and got.json()["columnId"] == board["columns"]["Done"]
    assert_error(apply(owner, action), 409)  # once only
    # by column id too
    back = approved(owner, "move_card", {"cardId": card["id"], "targetColumn": board["columns"]["In Progress"]})
    assert apply(owner, back).status_code == 200
    assert owner.get(board["P"] + f"/cards/{card['id']}").json()["columnId"] == board["columns"]["In Progress"]


def test_apply_create_and_update_card(owner, board):
    create = approved(owner, "create_card", {"projectId": board["project"]["id"], "columnName": "In Progress",
                                             "title": "Write the billing ADR", "priority": "high"})
    r = apply(owner, create)
    assert r.status_code == 200, r.text
    new_card = r.json()["result"]["card"]
    got = owner.get(board["P"] + f"/cards/{new_card['id']}").json()
    assert (got["title"], got["columnId"], got["priority"]) == (
        "Write the billing ADR", board["columns"]["In Progress"], "high")
    update = approved(owner, "update_card", {"cardId": new_card["id"], "changes": {"title": "Billing ADR v2"}})
    assert apply(owner, update).json()["status"] == "applied"
    assert owner.get(board["P"] + f"/cards/{new_card['id']}").json()["title"] == "Billing ADR v2"


def test_boards_refusal_keeps_the_action_approved_with_the_error(owner, board):
    card = board["card"]
    action = approved(owner, "move_card", {"cardId": card["id"], "targetColumn": "Done"})
    assert owner.delete(board["P"] + f"/cards/{card['id']}").status_code == 200
    body = assert_error(apply(owner, action), 404)
    got = owner.get(owner.W + f"/pilotage/actions/{action['id']}").json()
    assert got["status"] == "approved" and got["result"] is None
    assert got["error"]["statusCode"] == 404 and got["error"]["message"] == body["message"]
    # a column boards does not know: boards' error again, recorded
    other = owner.post(board["P"] + f"/columns/{board['columns']['To Do']}/cards", json={"title": "x"}).json()
    bad = approved(owner, "move_card", {"cardId": other["id"], "targetColumn": "Nowhere"})
    r = apply(owner, bad)
    assert r.status_code in (400, 404), r.text
    assert owner.get(owner.W + f"/pilotage/actions/{bad['id']}").json()["error"]["statusCode"] == r.status_code
    assert owner.get(board["P"] + f"/cards/{other['id']}").json()["columnId"] == board["columns"]["To Do"]


def test_a_card_of_another_workspace_cannot_be_moved(owner, board, base):
    stranger = register(base)
    action = approved(stranger, "move_card", {"cardId": board["card"]["id"], "targetColumn": "Done"})
    assert_error(apply(stranger, action), 404)
    assert owner.get(board["P"] + f"/cards/{board['card']['id']}").json()["columnId"] == board["columns"]["To Do"]


def test_reference_example_payload_is_refused_at_apply(owner, board):
    """The reference's shortened card id is accepted when proposed, refused (400) when applied."""
    action = approved(owner, "move_card", {"cardId": "665f4f6a...", "targetColumn": "Done"})
    assert_error(apply(owner, action), 400, "cardId")
    assert owner.get(owner.W + f"/pilotage/actions/{action['id']}").json()["status"] == "approved"
