"""End to end through the gateway: boards' real activity events become notifications."""
import pytest

from services.notifications.tests.support import (
    SSE,
    count,
    notifications,
    wait_notifications,
)
from tests.support import register, team, wait_until


@pytest.fixture
def board(stack, base):
    """alice's project with bob as a member, carol in the workspace but not in the project."""
    if "boards" not in stack.services:
        pytest.skip("needs the boards service in the stack (STACK_SERVICES=identity,boards,notifications)")
    alice = register(base, name="Alice")
    bob, carol = team(base, alice), team(base, alice)
    r = alice.post(alice.W + "/projects", json={"name": "Website", "templateId": "kanban"})
    assert r.status_code == 201, r.text
    project = r.json()
    P = f"{alice.W}/projects/{project['id']}"
    assert alice.post(P + "/members", json={"email": bob.email}).status_code == 201
    [joined] = wait_notifications(bob, 1)  # a member after the change hears of their own arrival
    assert joined["activity"]["type"] == "member_added" and joined["activity"]["meta"]["userId"] == bob.user_id
    return alice, bob, carol, project, P


def _types(client) -> list[str]:
    return [n["activity"]["type"] for n in notifications(client, limit=200)]


def test_card_lifecycle_notifies_the_other_members(board):
    alice, bob, carol, project, P = board
    todo, doing = project["columns"][0], project["columns"][1]
    stream = SSE(bob)
    try:
        stream.next("count")
        card = alice.post(f"{P}/columns/{todo['id']}/cards", json={"title": "Login page"}).json()
        created = stream.next("notification")["data"]
        assert created["activity"]["type"] == "card_created"
        assert created["activity"]["cardId"] == card["id"] and created["activity"]["cardTitle"] == "Login page"
        assert created["activity"]["projectId"] == project["id"] and created["activity"]["projectName"] == "Website"
        assert created["activity"]["actorId"] == alice.user_id

        C = f"{P}/cards/{card['id']}"
        assert alice.patch(C, json={"columnId": doing["id"]}).status_code == 200
        moved = stream.next("notification")["data"]
        assert moved["activity"]["type"] == "card_moved"
        assert moved["activity"]["meta"] == {"fromColumn": todo["name"], "toColumn": doing["name"],
                                             "fromColumnId": todo["id"], "toColumnId": doing["id"]}

        assert alice.patch(C, json={"title": "Login page v2"}).status_code == 200
        updated = stream.next("notification")["data"]
        assert updated["activity"]["type"] == "card_updated"
        assert updated["activity"]["meta"]["changes"]["title"] == {"before": "Login page", "after": "Login page v2"}

        assert alice.patch(C, json={"archived": True}).status_code == 200
        assert stream.next("notification")["data"]["activity"]["type"] == "card_archived"
        assert alice.delete(C).status_code == 200
        assert stream.next("notification")["data"]["activity"]["type"] == "card_deleted"
    finally:
        stream.close()
    assert _types(bob) == ["card_deleted", "card_archived", "card_updated", "card_moved", "card_created",
                           "member_added"]
    assert notifications(alice) == [] and notifications(carol) == []  # actor, and not a project member


def test_comment_notifies_the_other_members_not_the_author(board):
    alice, bob, carol, project, P = board
    card = alice.post(f"{P}/columns/{project['columns'][0]['id']}/cards", json={"title": "Bug"}).json()
    wait_notifications(bob, 2)
    r = bob.post(f"{P}/cards/{card['id']}/comments", json={"content": "On it"})
    assert r.status_code == 201, r.text
    [n] = wait_notifications(alice, 1)
    assert n["activity"]["type"] == "comment_added" and n["activity"]["actorId"] == bob.user_id
    assert n["activity"]["meta"]["content"] == "On it" and n["activity"]["meta"]["commentId"] == r.json()["id"]
    assert _types(bob) == ["card_created", "member_added"]  # not their own comment


def test_assigning_a_workspace_member_outside_the_project_notifies_them(board):
    alice, bob, carol, project, P = board
    card = alice.post(f"{P}/columns/{project['columns'][0]['id']}/cards", json={"title": "Deploy"}).json()
    r = alice.patch(f"{P}/cards/{card['id']}", json={"assigneeId": carol.user_id})
    assert r.status_code == 200, r.text
    # Boards adds the assignee to the project's members (member_added) and assigns (card_assigned):
    # carol hears of both, as a member after the change and as the new assignee.
    wait_until(lambda: sorted(_types(carol)) == ["card_assigned", "member_added"])
    [n] = [x for x in notifications(carol) if x["activity"]["type"] == "card_assigned"]
    assert n["activity"]["meta"] == {"assigneeId": carol.user_id, "previousAssigneeId": None}
    wait_until(lambda: sorted(_types(bob)) == ["card_assigned", "card_created", "member_added", "member_added"])
    assert count(alice) == 0


def test_member_added_and_removed(board, base):
    alice, bob, carol, project, P = board
    assert alice.post(P + "/members", json={"email": carol.email}).status_code == 201
    added = wait_notifications(bob, 2)[0]
    assert added["activity"]["type"] == "member_added"
    assert added["activity"]["meta"] == {"userId": carol.user_id, "email": carol.email}
    [added_carol] = wait_notifications(carol, 1)  # the new member is a member after the change
    assert added_carol["activity"]["type"] == "member_added"

    assert alice.delete(f"{P}/members/{bob.user_id}").status_code == 200
    wait_until(lambda: _types(carol) == ["member_removed", "member_added"])
    # Members after the change hear of it; the removed member is no longer one.
    assert _types(bob) == ["member_added", "member_added"]
    card = alice.post(f"{P}/columns/{project['columns'][0]['id']}/cards", json={"title": "After"}).json()
    wait_until(lambda: _types(carol)[0] == "card_created")
    assert _types(bob) == ["member_added", "member_added"] and card["id"]
