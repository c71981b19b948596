"""Workspaces, their members and invitations through the gateway (API.md §3 and §5)."""
import uuid

import pytest

from tests.support import (
    EventCapture,
    assert_error,
    register,
    service_db,
    team,
    unique_email,
    wait_until,
)


def new_ws(owner, slug=None, name="Engineering"):
    slug = slug or f"ws-{uuid.uuid4().hex[:8]}"
    r = owner.post(f"/orgs/{owner.org}/workspaces", json={"name": name, "slug": slug})
    assert r.status_code == 201, r.text
    return r.json(), f"/orgs/{owner.org}/workspaces/{slug}"


def invite(admin, W, email, **extra):
    r = admin.post(W + "/members/invite", json={"email": email, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def join(admin, W, user, **extra):
    inv = invite(admin, W, user.email, **extra)
    r = user.post(f"/invitations/{inv['token']}/accept")
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- create / read
def test_create_workspace_makes_creator_admin_and_pilotage_owner(alice):
    ws, W = new_ws(alice, "engineering")
    assert ws["name"] == "Engineering" and ws["slug"] == "engineering" and ws["isPersonal"] is False
    assert ws["myRole"] == "admin" and ws["myPilotageRole"] == "owner" and ws["ownerId"] == alice.user_id
    org_id = alice.get(f"/organizations/{alice.org}").json()["id"]
    assert ws["organizationId"] == org_id and ws["createdAt"].endswith("Z") and ws["updatedAt"].endswith("Z")
    assert alice.get(W).json() == ws
    assert {w["slug"] for w in alice.get(f"/orgs/{alice.org}/workspaces").json()} == {"personal", "engineering"}
    members = alice.get(W + "/members").json()
    assert [(m["userId"], m["role"], m["pilotageRole"]) for m in members] == [(alice.user_id, "admin", "owner")]


@pytest.mark.parametrize("body,field", [({"name": "x"}, "slug"), ({"slug": "ok-ws"}, "name"),
                                        ({"name": "x", "slug": "X"}, "slug"), ({"name": "x", "slug": "x"}, "slug"),
                                        ({"name": "x", "slug": "x" * 61}, "slug"),
                                        ({"name": "x", "slug": "a--b"}, "slug"),
                                        ({"name": "n" * 101, "slug": "ok-ws"}, "name"),
                                        ({"name": "x", "slug": "ok-ws", "isPersonal": True}, "isPersonal")])
def test_create_workspace_validation(alice, body, field):
    assert_error(alice.post(f"/orgs/{alice.org}/workspaces", json=body), 400, field)


def test_workspace_slug_limits_and_uniqueness_within_its_org(alice, bob):
    new_ws(alice, "x" * 60, name="n" * 100)
    new_ws(alice, "ab")
    assert_error(alice.post(f"/orgs/{alice.org}/workspaces", json={"name": "Dup", "slug": "ab"}), 409)
    assert_error(alice.post(f"/orgs/{alice.org}/workspaces", json={"name": "Dup", "slug": "personal"}), 409)
    # the same slug in another org is fine
    assert bob.post(f"/orgs/{bob.org}/workspaces", json={"name": "Mine", "slug": "ab"}).status_code == 201


def test_org_member_sees_only_workspaces_they_belong_to(alice, bob):
    _, W1 = new_ws(alice)
    _, W2 = new_ws(alice)
    assert alice.post(f"/organizations/{alice.org}/members", json={"email": bob.email, "role": "member"}
                      ).status_code == 201
    assert bob.get(f"/orgs/{alice.org}/workspaces").json() == []
    assert_error(bob.get(W1), 404)
    join(alice, W1, bob)
    assert [w["slug"] for w in bob.get(f"/orgs/{alice.org}/workspaces").json()] == [W1.rsplit("/", 1)[1]]
    assert_error(bob.get(W2), 404)
    assert_error(bob.get(W2 + "/members"), 404)


def test_unknown_workspace_is_404(alice):
    W = f"/orgs/{alice.org}/workspaces/no-such-ws"
    assert_error(alice.get(W), 404)
    assert_error(alice.patch(W, json={"name": "x"}), 404)
    assert_error(alice.delete(W), 404)
    assert_error(alice.get(W + "/members"), 404)
    assert_error(alice.post(W + "/members/invite", json={"email": unique_email()}), 404)


# ---------------------------------------------------------------- update / delete
def test_admin_renames_and_reslugs_workspace_and_the_new_slug_works_everywhere(alice, base):
    ws, W = new_ws(alice, "eng")
    bob = register(base)
    join(alice, W, bob)
    r = alice.patch(W, json={"name": "Engineering Team", "slug": "engineering"})
    assert r.status_code == 200, r.text
    assert r.json()["slug"] == "engineering" and r.json()["name"] == "Engineering Team" and r.json()["id"] == ws["id"]
    new = f"/orgs/{alice.org}/workspaces/engineering"
    assert_error(alice.get(W), 404)
    assert_error(alice.get(W + "/members"), 404)
    wait_until(lambda: bob.get(W).status_code == 404, timeout=1)
    for who in (alice, bob):
        assert who.get(new).json()["id"] == ws["id"]
        assert len(who.get(new + "/members").json()) == 2
    assert alice.patch(new + f"/members/{bob.user_id}", json={"pilotageRole": "reviewer"}).status_code == 200
    assert invite(alice, new, unique_email())["workspaceId"] == ws["id"]
    assert "engineering" in {w["slug"] for w in bob.get(f"/orgs/{alice.org}/workspaces").json()}
    # the old slug can be reused by a new workspace
    assert new_ws(alice, "eng")[0]["id"] != ws["id"]


def test_patch_workspace_validation_and_conflict(alice):
    _, W = new_ws(alice)
    other, _ = new_ws(alice)
    assert_error(alice.patch(W, json={"slug": other["slug"]}), 409)
    assert_error(alice.patch(W, json={"slug": "personal"}), 409)
    assert_error(alice.patch(W, json={"slug": "Nope"}), 400, "slug")
    assert_error(alice.patch(W, json={"name": ""}), 400, "name")
    assert_error(alice.patch(W, json={"name": "n" * 101}), 400, "name")
    assert_error(alice.patch(W, json={"organizationId": "0" * 24}), 400)
    assert alice.get(W).json()["name"] == "Engineering"


def test_workspace_member_cannot_administer(alice, base):
    _, W = new_ws(alice)
    bob, carol = register(base), register(base)
    join(alice, W, bob)
    join(alice, W, carol)
    assert bob.get(W).json()["myRole"] == "member"
    assert bob.get(W + "/members").status_code == 200
    assert_error(bob.post(W + "/members/invite", json={"email": unique_email()}), 403)
    assert_error(bob.patch(W + f"/members/{carol.user_id}", json={"role": "admin"}), 403)
    assert_error(bob.patch(W + f"/members/{bob.user_id}", json={"role": "admin"}), 403)
    assert_error(bob.patch(W + f"/members/{bob.user_id}", json={"pilotageRole": "owner"}), 403)
    assert_error(bob.delete(W + f"/members/{carol.user_id}"), 403)
    assert_error(bob.delete(W + f"/members/{alice.user_id}"), 403)
    assert_error(bob.patch(W, json={"name": "Bob's"}), 403)
    assert_error(bob.delete(W), 403)
    assert len(alice.get(W + "/members").json()) == 3


def test_admin_deletes_workspace_and_the_event_is_published(alice, stack, base):
    ws, W = new_ws(alice)
    bob = register(base)
    join(alice, W, bob, role="admin")
    with EventCapture(stack, "identity.workspace.>") as events:
        assert bob.delete(W).json() == {"ok": True}
        env = events.wait_for(lambda e: e["type"] == "identity.workspace.deleted")
    assert env["data"] == {"workspaceId": ws["id"], "orgId": ws["organizationId"]}
    assert_error(alice.get(W), 404)
    assert_error(bob.get(W + "/members"), 404)
    assert all(w["id"] != ws["id"] for w in alice.get(f"/orgs/{alice.org}/workspaces").json())
    assert service_db(stack).ws_members.count_documents({"workspaceId": ws["id"]}) == 0


def test_personal_workspace_cannot_be_deleted(alice):
    assert_error(alice.delete(alice.W), 409)


# ---------------------------------------------------------------- invitations
def test_invite_then_accept_as_the_invited_email_joins_org_as_member(alice, base):
    _, W = new_ws(alice)
    bob = register(base, name="Bob")
    inv = invite(alice, W, bob.email.upper())
    assert inv["email"] == bob.email and inv["role"] == "member" and inv["pilotageRole"] == "viewer"
    assert len(inv["id"]) == 24 and inv["expiresAt"].endswith("Z") and len(inv["token"]) >= 32
    assert_error(bob.get(W), 404)  # not yet (and this negative answer must not stick in the gateway's cache)
    r = bob.post(f"/invitations/{inv['token']}/accept")
    assert r.status_code == 200, r.text
    assert r.json()["workspace"]["slug"] == W.rsplit("/", 1)[1] and r.json()["workspace"]["myRole"] == "member"
    got = bob.get(W)
    assert got.status_code == 200 and got.json()["myRole"] == "member" and got.json()["myPilotageRole"] == "viewer"
    assert bob.get(f"/organizations/{alice.org}").json()["myRole"] == "member"
    roles = {m["userId"]: m["role"] for m in alice.get(f"/organizations/{alice.org}/members").json()}
    assert roles[bob.user_id] == "member"
    rows = {m["userId"]: m for m in alice.get(W + "/members").json()}
    assert rows[bob.user_id]["email"] == bob.email and rows[bob.user_id]["name"] == "Bob"
    assert (rows[bob.user_id]["role"], rows[bob.user_id]["pilotageRole"]) == ("member", "viewer")


def test_invitation_with_roles_and_existing_org_role_is_kept(alice, base):
    _, W = new_ws(alice)
    bob = register(base)
    assert alice.post(f"/organizations/{alice.org}/members", json={"email": bob.email, "role": "admin"}
                      ).status_code == 201
    join(alice, W, bob, role="admin", pilotageRole="reviewer")
    ws = bob.get(W).json()
    assert (ws["myRole"], ws["myPilotageRole"]) == ("admin", "reviewer")
    assert bob.get(f"/organizations/{alice.org}").json()["myRole"] == "admin"  # not downgraded to member
    assert bob.post(W + "/members/invite", json={"email": unique_email()}).status_code == 201  # now an admin


def test_accepting_with_another_email_is_403_and_keeps_the_invitation(alice, base):
    _, W = new_ws(alice)
    bob, mallory = register(base), register(base)
    inv = invite(alice, W, bob.email)
    assert_error(mallory.post(f"/invitations/{inv['token']}/accept"), 403)
    assert_error(mallory.get(W), 404)
    assert bob.post(f"/invitations/{inv['token']}/accept").status_code == 200


def test_invitation_accepted_twice_is_409_and_unknown_is_404(alice, base):
    _, W = new_ws(alice)
    bob = register(base)
    inv = invite(alice, W, bob.email)
    assert bob.post(f"/invitations/{inv['token']}/accept").status_code == 200
    assert_error(bob.post(f"/invitations/{inv['token']}/accept"), 409)
    assert_error(bob.post("/invitations/not-a-real-token/accept"), 404)
    assert_error(bob.post("/invitations/" + "A" * 43 + "/accept"), 404)


def test_expired_invitation_is_404(alice, base, stack):
    _, W = new_ws(alice)
    bob = register(base)
    inv = invite(alice, W, bob.email)
    service_db(stack).invitations.update_one({"_id": inv["id"]}, {"$currentDate": {"expiresAt": True}})
    assert_error(bob.post(f"/invitations/{inv['token']}/accept"), 404)
    assert_error(bob.get(W), 404)


def test_invitation_needs_a_login(alice, base):
    import requests
    _, W = new_ws(alice)
    inv = invite(alice, W, unique_email())
    assert_error(requests.post(f"{base}/invitations/{inv['token']}/accept", timeout=30), 401)


def test_invite_errors(alice, base):
    _, W = new_ws(alice)
    bob = register(base)
    join(alice, W, bob)
    assert_error(alice.post(W + "/members/invite", json={"email": bob.email}), 409)  # already a member
    assert_error(alice.post(W + "/members/invite", json={"email": alice.email.upper()}), 409)
    assert_error(alice.post(W + "/members/invite", json={}), 400, "email")
    assert_error(alice.post(W + "/members/invite", json={"email": "not-an-email"}), 400, "email")
    assert_error(alice.post(W + "/members/invite", json={"email": unique_email(), "role": "owner"}), 400, "role")
    assert_error(alice.post(W + "/members/invite", json={"email": unique_email(), "pilotageRole": "boss"}), 400,
                 "pilotageRole")
    assert_error(alice.post(W + "/members/invite", json={"email": unique_email(), "token": "mine"}), 400, "token")


def test_reinviting_replaces_the_previous_token(alice, base):
    _, W = new_ws(alice)
    bob = register(base)
    first = invite(alice, W, bob.email)
    second = invite(alice, W, bob.email, role="admin")
    assert first["token"] != second["token"]
    assert_error(bob.post(f"/invitations/{first['token']}/accept"), 404)
    assert bob.post(f"/invitations/{second['token']}/accept").status_code == 200
    assert bob.get(W).json()["myRole"] == "admin"


def test_invitation_for_someone_not_registered_yet(alice, base):
    _, W = new_ws(alice)
    email = unique_email()
    inv = invite(alice, W, email)
    newcomer = register(base, email=email)
    assert newcomer.post(f"/invitations/{inv['token']}/accept").status_code == 200
    assert newcomer.get(W).json()["myPilotageRole"] == "viewer"


# ---------------------------------------------------------------- workspace members
def test_admin_changes_member_roles(alice, base):
    _, W = new_ws(alice)
    bob = register(base)
    join(alice, W, bob)
    r = alice.patch(W + f"/members/{bob.user_id}", json={"role": "admin", "pilotageRole": "reviewer"})
    assert r.status_code == 200, r.text
    assert (r.json()["userId"], r.json()["role"], r.json()["pilotageRole"]) == (bob.user_id, "admin", "reviewer")
    assert bob.get(W).json()["myPilotageRole"] == "reviewer"
    r = alice.patch(W + f"/members/{bob.user_id}", json={"pilotageRole": "owner"})
    assert (r.json()["role"], r.json()["pilotageRole"]) == ("admin", "owner")
    assert bob.patch(W + f"/members/{alice.user_id}", json={"role": "member"}).status_code == 200  # bob is admin now
    assert alice.get(W).json()["myRole"] == "member"


def test_update_member_validation(alice, base):
    _, W = new_ws(alice)
    bob = register(base)
    join(alice, W, bob)
    path = W + f"/members/{bob.user_id}"
    assert_error(alice.patch(path, json={}), 400)
    assert_error(alice.patch(path, json={"role": "owner"}), 400, "role")
    assert_error(alice.patch(path, json={"pilotageRole": "admin"}), 400, "pilotageRole")
    assert_error(alice.patch(path, json={"role": "admin", "email": "x@y.zz"}), 400, "email")
    assert_error(alice.patch(W + "/members/not-an-id", json={"role": "admin"}), 404)
    assert_error(alice.patch(W + f"/members/{'0' * 24}", json={"role": "admin"}), 404)
    assert_error(alice.delete(W + f"/members/{'0' * 24}"), 404)


def test_last_admin_cannot_be_demoted_or_removed(alice):
    _, W = new_ws(alice)
    assert_error(alice.patch(W + f"/members/{alice.user_id}", json={"role": "member"}), 409)
    assert_error(alice.delete(W + f"/members/{alice.user_id}"), 409)


def test_admin_removes_a_member_and_member_may_leave(alice, base):
    _, W = new_ws(alice)
    bob, carol = register(base), register(base)
    join(alice, W, bob)
    join(alice, W, carol)
    assert alice.delete(W + f"/members/{bob.user_id}").json() == {"ok": True}
    wait_until(lambda: bob.get(W).status_code == 404, timeout=1)
    assert bob.get(f"/organizations/{alice.org}").status_code == 200  # still in the org
    assert carol.delete(W + f"/members/{carol.user_id}").status_code == 200  # leaves
    assert_error(carol.get(W), 404)
    assert [m["userId"] for m in alice.get(W + "/members").json()] == [alice.user_id]


def test_team_helper_member_defaults(alice, base):
    bob = team(base, alice)
    me = [m for m in alice.get(alice.W + "/members").json() if m["userId"] == bob.user_id][0]
    assert (me["role"], me["pilotageRole"]) == ("member", "viewer")


def test_concurrent_accepts_join_once(alice, base):
    from concurrent.futures import ThreadPoolExecutor
    _, W = new_ws(alice)
    bob = register(base)
    inv = invite(alice, W, bob.email)
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: bob.with_token(bob.token).post(f"/invitations/{inv['token']}/accept"
                                                                             ).status_code, range(4)))
    assert statuses == [200, 409, 409, 409]
    assert [m["userId"] for m in alice.get(W + "/members").json()].count(bob.user_id) == 1
