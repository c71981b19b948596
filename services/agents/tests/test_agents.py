"""Agents CRUD through the gateway: defaults, validation (400), roles (403), ids (404), slugs (409), PAT scopes,
tenant isolation by agent id."""
from __future__ import annotations

import pytest

from tests.support import assert_error, register, team

from .conftest import MISSING, make_agent


def test_create_with_defaults_then_read_list_patch_delete(owner):
    r = owner.post(owner.W + "/agents", json={"name": "Triage bot", "slug": "triage"})
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["slug"] == "triage" and agent["autonomyMode"] == "supervised" and agent["enabled"] is True
    assert agent["tools"] == ["read_card", "comment", "update_card", "move_card", "checklist", "create_card"]
    assert agent["limits"] == {"maxStepsPerMission": 20, "maxMissionsPerDay": 100}
    assert agent["toolPolicies"] == {} and agent["createdAt"].endswith("Z")
    assert owner.get(f"{owner.W}/agents/{agent['id']}").json() == agent
    assert [a["id"] for a in owner.get(owner.W + "/agents").json()] == [agent["id"]]

    r = owner.patch(f"{owner.W}/agents/{agent['id']}", json={
        "autonomyMode": "approval", "tools": ["read_card", "comment"], "toolPolicies": {"comment": "auto"},
        "limits": {"maxStepsPerMission": 5}, "enabled": False, "description": "Reads and comments"})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["autonomyMode"] == "approval" and changed["tools"] == ["read_card", "comment"]
    assert changed["toolPolicies"] == {"comment": "auto"} and changed["enabled"] is False
    assert changed["limits"] == {"maxStepsPerMission": 5, "maxMissionsPerDay": 100}
    assert owner.get(f"{owner.W}/agents/{agent['id']}").json()["description"] == "Reads and comments"

    assert owner.delete(f"{owner.W}/agents/{agent['id']}").json() == {"ok": True}
    assert_error(owner.get(f"{owner.W}/agents/{agent['id']}"), 404)
    assert owner.get(owner.W + "/agents").json() == []


def test_the_three_modes_and_every_policy_are_accepted(owner):
    for mode in ("supervised", "approval", "autonomous"):
        agent = make_agent(owner, name=f"A {mode}", autonomyMode=mode,
                           toolPolicies={"comment": "auto", "move_card": "approve", "create_card": "deny"})
        assert agent["autonomyMode"] == mode and agent["toolPolicies"]["create_card"] == "deny"


def test_slug_is_unique_in_the_workspace(owner, base):
    make_agent(owner, slug="dup")
    assert_error(owner.post(owner.W + "/agents", json={"name": "Other", "slug": "dup"}), 409, "slug")
    other = make_agent(owner, slug="other")
    assert_error(owner.patch(f"{owner.W}/agents/{other['id']}", json={"slug": "dup"}), 409)
    stranger = register(base)
    assert make_agent(stranger, slug="dup")["slug"] == "dup"   # another workspace: free


@pytest.mark.parametrize("body", [
    {},                                                         # name missing
    {"name": ""},
    {"name": "x", "autonomyMode": "yolo"},
    {"name": "x", "tools": ["read_card", "launch_rockets"]},
    {"name": "x", "tools": ["comment", "comment"]},
    {"name": "x", "toolPolicies": {"comment": "sometimes"}},
    {"name": "x", "toolPolicies": {"teleport": "auto"}},
    {"name": "x", "limits": {"maxStepsPerMission": 0}},
    {"name": "x", "limits": {"maxMissionsPerDay": "many"}},
    {"name": "x", "limits": {"other": 1}},
    {"name": "x", "slug": "Not A Slug"},
    {"name": "x", "unknown": True},
])
def test_invalid_agents_are_400(owner, body):
    assert_error(owner.post(owner.W + "/agents", json=body), 400)


def test_invalid_patch_and_bodies_are_400(owner):
    agent = make_agent(owner)
    assert_error(owner.patch(f"{owner.W}/agents/{agent['id']}", json={"autonomyMode": "wild"}), 400)
    assert_error(owner.patch(f"{owner.W}/agents/{agent['id']}", json={"id": "x"}), 400)
    r = owner.post(owner.W + "/agents", data="not json", headers={"Content-Type": "application/json"})
    assert_error(r, 400)


def test_unknown_and_malformed_ids_are_404(owner):
    for path in (f"/agents/{MISSING}", "/agents/not-an-id"):
        assert_error(owner.get(owner.W + path), 404)
        assert_error(owner.patch(owner.W + path, json={"name": "x"}), 404)
        assert_error(owner.delete(owner.W + path), 404)
        assert_error(owner.get(owner.W + path + "/missions"), 404)


def test_configuring_agents_needs_admin_or_pilotage_owner(base, owner):
    agent = make_agent(owner)
    member = team(base, owner)                      # workspace member, pilotage viewer
    assert member.get(owner.W + "/agents").status_code == 200
    assert member.get(f"{owner.W}/agents/{agent['id']}").status_code == 200
    assert_error(member.post(owner.W + "/agents", json={"name": "Mine"}), 403)
    assert_error(member.patch(f"{owner.W}/agents/{agent['id']}", json={"name": "Mine"}), 403)
    assert_error(member.delete(f"{owner.W}/agents/{agent['id']}"), 403)
    pilot = team(base, owner, pilotage_role="owner")
    assert pilot.post(owner.W + "/agents", json={"name": "Pilot's"}).status_code == 201


def test_pat_scopes(owner):
    agent = make_agent(owner)
    r = owner.post("/api-tokens", json={"name": "read", "scopes": ["pilotage:read"]})
    assert r.status_code == 201, r.text
    reader = owner.with_token(r.json()["token"])
    assert reader.get(owner.W + "/agents").status_code == 200
    assert reader.get(f"{owner.W}/agents/{agent['id']}").status_code == 200
    assert_error(reader.post(owner.W + "/agents", json={"name": "x"}), 403)
    assert_error(reader.delete(f"{owner.W}/agents/{agent['id']}"), 403)
    r = owner.post("/api-tokens", json={"name": "boards", "scopes": ["projects:read", "projects:write"]})
    outsider = owner.with_token(r.json()["token"])
    assert_error(outsider.get(owner.W + "/agents"), 403)


def test_another_orgs_agent_is_invisible(base, owner):
    agent = make_agent(owner)
    stranger = register(base)
    path = f"{stranger.W}/agents/{agent['id']}"
    assert_error(stranger.get(path), 404)
    assert_error(stranger.patch(path, json={"name": "mine"}), 404)
    assert_error(stranger.delete(path), 404)
    assert_error(stranger.get(path + "/missions"), 404)
    assert_error(stranger.post(path + "/missions", json={"cardId": MISSING, "prompt": "x"}), 404)
    assert stranger.get(stranger.W + "/agents").json() == []
    assert_error(stranger.get(f"{owner.W}/agents"), 404)      # not a member of that workspace
    assert owner.get(f"{owner.W}/agents/{agent['id']}").json()["name"] == agent["name"]
