"""Auth endpoints through the gateway: register, login, me, profile, password change."""
from tests.support import assert_error, register, unique_email


def test_register_returns_token_and_user_and_personal_space(base):
    email = unique_email()
    c = register(base, email=email, name="Jane Doe")
    assert c.user == {"id": c.user_id, "email": email, "name": "Jane Doe"}
    me = c.get("/auth/me")
    assert me.status_code == 200
    assert me.json() == {"user": {"id": c.user_id, "email": email, "name": "Jane Doe", "pilotageRole": "owner"}}
    orgs = c.get("/organizations").json()
    assert len(orgs) == 1 and orgs[0]["isPersonal"] and orgs[0]["myRole"] == "owner"
    ws = c.get(c.W).json()
    assert ws["isPersonal"] is True and ws["myRole"] == "admin" and ws["myPilotageRole"] == "owner"
