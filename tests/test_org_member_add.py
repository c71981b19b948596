"""POST /organizations/:org/members answers the same for a registered and an unknown email (issue
14: no account oracle): the registered user becomes a member, is notified and may leave; the
unknown address gets an organization invitation (its token only in the mail)."""
import hashlib
import secrets

from tests.support import register, service_db, unique_email, wait_until


def _org(owner):
    slug = f"org-{secrets.token_hex(4)}"
    assert owner.post("/organizations", json={"name": "Acme", "slug": slug}).status_code == 201
    return slug


def test_known_and_unknown_emails_get_the_same_answer(base, stack):
    alice, bob = register(base), register(base)
    slug = _org(alice)
    stranger = unique_email()
    known = alice.post(f"/organizations/{slug}/members", json={"email": bob.email, "role": "admin"})
    unknown = alice.post(f"/organizations/{slug}/members", json={"email": stranger, "role": "admin"})
    assert known.status_code == unknown.status_code == 201, (known.text, unknown.text)
    assert known.json() | {"email": None} == unknown.json() | {"email": None}
    assert set(known.headers) - {"Date", "X-Request-Id", "Content-Length"} == \
        set(unknown.headers) - {"Date", "X-Request-Id", "Content-Length"}
    assert "token" not in unknown.text and bob.user_id not in known.text
    # the one already listed as a member (the admin sees the list anyway) is a conflict
    assert alice.post(f"/organizations/{slug}/members", json={"email": bob.email, "role": "member"}).status_code == 409


def test_a_registered_user_added_is_notified_and_may_leave(base):
    alice, bob = register(base), register(base)
    slug = _org(alice)
    assert alice.post(f"/organizations/{slug}/members", json={"email": bob.email, "role": "member"}).status_code == 201
    note = wait_until(lambda: [n for n in bob.get("/notifications").json()
                               if n["activity"]["type"] == "org_member_added"], timeout=10)[0]
    assert note["activity"]["meta"]["orgSlug"] == slug and note["activity"]["actorId"] == alice.user_id
    assert bob.get(f"/organizations/{slug}").json()["myRole"] == "member"
    assert bob.delete(f"/organizations/{slug}/members/{bob.user_id}").status_code == 200
    wait_until(lambda: bob.get(f"/organizations/{slug}").status_code == 404, timeout=5)


def test_an_unknown_email_gets_an_organization_invitation(base, stack):
    alice = register(base)
    slug = _org(alice)
    email = unique_email()
    assert alice.post(f"/organizations/{slug}/members", json={"email": email, "role": "admin"}).status_code == 201
    members = alice.get(f"/organizations/{slug}/members").json()
    assert email not in [m["email"] for m in members]
    # the token travels by mail only: give the stored invitation a token the test knows
    token = secrets.token_urlsafe(16)
    invitations = service_db(stack).invitations
    assert invitations.update_one({"email": email, "kind": "org"},
                                  {"$set": {"tokenHash": hashlib.sha256(token.encode()).hexdigest()}}).matched_count == 1
    newcomer = register(base, email=email)
    accepted = newcomer.post(f"/invitations/{token}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["organization"]["slug"] == slug
    assert newcomer.get(f"/organizations/{slug}").json()["myRole"] == "admin"
