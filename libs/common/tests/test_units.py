"""Pure logic of libs/common: durations, validation messages, dates, the internal caller token."""
import time
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from libs.common.context import Caller, sign_caller, verify_caller
from libs.common.errors import Unauthorized, error_body, validation_message
from libs.common.mongo import is_id, iso, new_id
from libs.common.schemas import IsoDateTime, Slug, StrictSchema, load
from libs.common.settings import parse_duration


@pytest.mark.parametrize("text,seconds", [("7d", 604800), ("15m", 900), ("12h", 43200), ("3600", 3600), ("2w", 1209600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_parse_duration_rejects_garbage():
    with pytest.raises(ValueError):
        parse_duration("seven days")


def test_error_body_shape():
    assert error_body(404, "Project not found") == {"statusCode": 404, "message": "Project not found", "error": "Not Found"}
    assert error_body(400, "bad", {"title": ["x"]})["details"] == {"title": ["x"]}


def test_validation_message_is_readable():
    msg = validation_message({"title": ["Missing data for required field."], "_schema": ["Body must be an object."]})
    assert "title: Missing data for required field." in msg and "Body must be an object." in msg


class _Dates(StrictSchema):
    at = IsoDateTime()
    slug = Slug()


def test_iso_datetime_accepts_date_only_as_midnight_utc():
    data = load(_Dates(), {"at": "2026-04-01"})
    assert data["at"] == datetime(2026, 4, 1, tzinfo=timezone.utc)
    assert iso(data["at"]) == "2026-04-01T00:00:00.000Z"


def test_iso_datetime_normalises_offsets_to_utc():
    data = load(_Dates(), {"at": "2026-04-01T10:00:00+02:00"})
    assert iso(data["at"]) == "2026-04-01T08:00:00.000Z"


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01", "", 12])
def test_iso_datetime_rejects_garbage(bad):
    with pytest.raises(ValidationError):
        load(_Dates(), {"at": bad})


@pytest.mark.parametrize("slug,ok", [("acme", True), ("acme-corp-2", True), ("a", False), ("Acme", False),
                                     ("acme--corp", False), ("-acme", False), ("a" * 61, False), ("a" * 60, True)])
def test_slug_rule(slug, ok):
    if ok:
        assert load(_Dates(), {"slug": slug})["slug"] == slug
    else:
        with pytest.raises(ValidationError):
            load(_Dates(), {"slug": slug})


def test_strict_schema_rejects_unknown_fields_and_non_objects():
    with pytest.raises(ValidationError):
        load(_Dates(), {"nope": 1})
    with pytest.raises(ValidationError):
        load(_Dates(), ["not", "an", "object"])


def test_ids_are_24_hex_strings():
    value = new_id()
    assert is_id(value) and not is_id("665f1a2b") and not is_id(None) and not is_id("z" * 24)


def test_caller_token_round_trip_and_tamper_and_expiry():
    caller = Caller(user_id=new_id(), email="a@b.c", via="pat", scopes=("projects:read",),
                    org={"id": new_id(), "slug": "acme", "role": "owner"},
                    ws={"id": new_id(), "slug": "eng", "role": "admin", "pilotageRole": "owner"})
    token = sign_caller(caller, "secret-1", ttl=60)
    back = verify_caller(token, "secret-1")
    assert back.user_id == caller.user_id and back.scopes == ("projects:read",) and back.ws_role == "admin"
    with pytest.raises(Unauthorized):
        verify_caller(token, "another-secret")
    expired = sign_caller(caller, "secret-1", ttl=-5)
    with pytest.raises(Unauthorized):
        verify_caller(expired, "secret-1")


def test_a_verified_caller_token_is_decoded_once_until_it_expires(monkeypatch):
    """The gateway reuses a token for seconds: a service decodes it once, then answers from memory —
    but only for that exact token and secret, and never past its expiry."""
    import jwt as pyjwt

    from libs.common import context

    decodes = []
    real = pyjwt.decode
    monkeypatch.setattr(context.jwt, "decode", lambda *a, **kw: decodes.append(1) or real(*a, **kw))
    caller = Caller(user_id=new_id(), email="a@b.c", scopes=("projects:read",))
    token = sign_caller(caller, "secret-cache", ttl=2)
    assert verify_caller(token, "secret-cache").user_id == caller.user_id
    assert verify_caller(token, "secret-cache").user_id == caller.user_id
    assert len(decodes) == 1
    with pytest.raises(Unauthorized):     # the same token under another secret is decoded (and refused)
        verify_caller(token, "secret-other")
    assert len(decodes) == 2
    with pytest.raises(Exception):        # what the cache hands out cannot be changed by a request
        verify_caller(token, "secret-cache").user_id = "someone-else"
    exp = real(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, exp + 1.05 - time.time()))
    with pytest.raises(Unauthorized):     # past its expiry: decoded again, and refused
        verify_caller(token, "secret-cache")
    assert len(decodes) == 3


def test_a_form_body_is_not_taken_for_an_empty_json_object():
    from flask import Flask

    from libs.common.errors import register_error_handlers
    from libs.common.web import Api

    api = Api("t")

    @api.route("/x", "PATCH", body=_Dates)
    def patch_x(body):
        return body

    app = Flask("t")
    register_error_handlers(app)
    api.register(app)
    client = app.test_client()
    r = client.patch("/x", data={"slug": "abc"})  # application/x-www-form-urlencoded
    assert r.status_code == 400 and r.json["message"] == "Request body is not valid JSON"
    assert client.patch("/x", json={"slug": "abc"}).json == {"slug": "abc"}
    assert client.patch("/x").status_code == 200  # no body at all: an empty object
