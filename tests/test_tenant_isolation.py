"""Tenant isolation through the gateway: a user of one org sees nothing of another org — every
identity endpoint answers 404 (never 403, never the data), by slug or by id, whatever the verb."""
import uuid

import pytest

from tests.support import assert_error, register, team


@pytest.fixture(scope="module")
def tenants(base):
    """Victim: an org with a workspace, a second member, a pending invitation and a token.
    Intruder: a user with their own org, who even has the same workspace slug."""
    victim = register(base, name="Victim")
    org_slug = f"victim-{uuid.uuid4().hex[:8]}"
    org = victim.post("/organizations", json={"name": "Victim Inc", "slug": org_slug}).json()
    ws = victim.post(f"/orgs/{org_slug}/workspaces", json={"name": "Secret", "slug": "secret"}).json()
    W = f"/orgs/{org_slug}/workspaces/secret"
    colleague = register(base)
    inv = victim.post(W + "/members/invite", json={"email": colleague.email}).json()
    assert colleague.post(f"/invitations/{inv['token']}/accept").status_code == 200
    pending = victim.post(W + "/members/invite", json={"email": f"later-{uuid.uuid4().hex[:6]}@example.com"}).json()
    token = victim.post("/api-tokens", json={"name": "victim's"}).json()
    intruder = register(base, name="Intruder")
    intruder.post(f"/orgs/{intruder.org}/workspaces", json={"name": "Secret", "slug": "secret"})
    return {"victim": victim, "colleague": colleague, "intruder": intruder, "org": org, "ws": ws, "W": W,
            "org_slug": org_slug, "pending": pending, "token": token}


def _requests(t):
    s, W, uid, vid = t["org_slug"], t["W"], t["colleague"].user_id, t["victim"].user_id
    return [
        ("GET", f"/organizations/{s}", None),
        ("PATCH", f"/organizations/{s}", {"name": "Owned"}),
        ("DELETE", f"/organizations/{s}", None),
        ("GET", f"/organizations/{s}/members", None),
        ("POST", f"/organizations/{s}/members", {"email": t["intruder"].email, "role": "admin"}),
        ("PATCH", f"/organizations/{s}/members/{uid}", {"role": "admin"}),
        ("DELETE", f"/organizations/{s}/members/{uid}", None),
        ("PATCH", f"/organizations/{s}/members/{vid}", {"role": "member"}),
        ("GET", f"/orgs/{s}/workspaces", None),
        ("POST", f"/orgs/{s}/workspaces", {"name": "Mine", "slug": "mine"}),
        ("GET", W, None),
        ("PATCH", W, {"name": "Owned"}),
        ("DELETE", W, None),
        ("GET", W + "/members", None),
        ("POST", W + "/members/invite", {"email": t["intruder"].email, "role": "admin"}),
        ("PATCH", W + f"/members/{uid}", {"role": "admin"}),
        ("DELETE", W + f"/members/{uid}", None),
        ("GET", W + "/agents", None),
        ("GET", W + "/projects", None),
        # by id instead of slug: ids are not slugs, so these name nothing the intruder can reach
        ("GET", f"/organizations/{t['org']['id']}", None),
        ("GET", f"/orgs/{s}/workspaces/{t['ws']['id']}", None),
        ("GET", f"/orgs/{t['org']['id']}/workspaces/{t['ws']['id']}/members", None),
        ("DELETE", f"/api-tokens/{t['token']['id']}", None),
    ]


def test_intruder_gets_404_everywhere_with_a_jwt(tenants):
    intruder = tenants["intruder"]
    for method, path, body in _requests(tenants):
        r = intruder.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert_error(r, 404)
        assert tenants["org"]["id"] not in r.text and "Victim" not in r.text


def test_intruder_gets_404_everywhere_with_a_full_scope_pat(tenants):
    intruder = tenants["intruder"]
    pat = intruder.with_token(intruder.post("/api-tokens", json={"name": "probe"}).json()["token"])
    for method, path, body in _requests(tenants):
        if path.startswith("/api-tokens"):
            continue  # PATs cannot manage tokens at all (403), tested in identity's token tests
        r = pat.request(method, path, json=body)
        assert r.status_code == 404, (method, path, r.status_code, r.text)


def test_nothing_changed_for_the_victim(tenants):
    victim = tenants["victim"]
    intruder = tenants["intruder"]
    for method, path, body in _requests(tenants):  # another pass, then look at the victim's data
        intruder.request(method, path, json=body)
    org = victim.get(f"/organizations/{tenants['org_slug']}")
    assert org.status_code == 200 and org.json()["name"] == "Victim Inc"
    members = {m["userId"]: m["role"] for m in victim.get(f"/organizations/{tenants['org_slug']}/members").json()}
    assert members == {victim.user_id: "owner", tenants["colleague"].user_id: "member"}
    ws_members = victim.get(tenants["W"] + "/members").json()
    assert {m["userId"] for m in ws_members} == {victim.user_id, tenants["colleague"].user_id}
    assert [w["slug"] for w in victim.get(f"/orgs/{tenants['org_slug']}/workspaces").json()] == ["secret"]
    assert any(t["id"] == tenants["token"]["id"] for t in victim.get("/api-tokens").json())
    assert victim.with_token(tenants["token"]["token"]).get("/auth/me").status_code == 200


def test_lists_show_only_ones_own_tenants(tenants):
    intruder = tenants["intruder"]
    assert all(o["id"] != tenants["org"]["id"] for o in intruder.get("/organizations").json())
    assert all(t["id"] != tenants["token"]["id"] for t in intruder.get("/api-tokens").json())
    own = intruder.get(f"/orgs/{intruder.org}/workspaces").json()
    assert tenants["ws"]["id"] not in {w["id"] for w in own}


def test_another_users_invitation_cannot_be_used(tenants):
    # the token is a secret of the invited address: anyone else is refused and nothing is granted
    intruder = tenants["intruder"]
    assert_error(intruder.post(f"/invitations/{tenants['pending']['token']}/accept"), 403)
    assert_error(intruder.get(tenants["W"]), 404)


def test_a_colleague_in_one_workspace_cannot_reach_a_sibling_workspace(base):
    owner = register(base)
    colleague = team(base, owner)
    assert owner.post(f"/orgs/{owner.org}/workspaces", json={"name": "Board", "slug": "board"}).status_code == 201
    sibling = f"/orgs/{owner.org}/workspaces/board"
    for method, path in [("GET", sibling), ("GET", sibling + "/members"), ("PATCH", sibling),
                         ("POST", sibling + "/members/invite"), ("DELETE", sibling), ("GET", sibling + "/agents")]:
        body = {"email": colleague.email} if path.endswith("invite") else ({"name": "x"} if method == "PATCH" else None)
        assert_error(colleague.request(method, path, json=body), 404)
    assert colleague.get(f"/organizations/{owner.org}").status_code == 200  # but the org itself is visible
