"""Refused bodies (issue 14): a chunked body over the limit is a 413 that no service ever sees (no
error in its log), a malformed chunked or multipart body a 400 that names no parser internals."""
import requests

from tests.support import assert_error


def _chunks(total: int, size: int = 64 * 1024):
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        sent += part
        yield b"x" * part


def _logged_errors(stack, service: str) -> list[str]:
    text = (stack.root / f"{service}-web.log").read_text(errors="replace")
    return [line for line in text.splitlines() if "unhandled error" in line or "Traceback" in line
            or "Error handling request" in line]


def test_a_chunked_body_over_the_limit_is_a_413_no_service_sees(stack, alice):
    before = len(_logged_errors(stack, "boards"))
    project = alice.post(alice.W + "/projects", json={"name": "Big"}).json()
    r = alice.session.post(alice.base + f"{alice.W}/projects/{project['id']}/columns", data=_chunks(2_600_000),
                           headers=alice.headers({"Content-Type": "application/json"}), timeout=60)
    assert_error(r, 413)
    assert alice.get(alice.W + f"/projects/{project['id']}/columns").status_code == 200
    assert len(_logged_errors(stack, "boards")) == before, _logged_errors(stack, "boards")[-5:]


def test_a_chunked_json_body_is_forwarded_whole(alice):
    r = alice.session.post(alice.base + alice.W + "/projects", data=iter([b'{"name": ', b'"Chunked"}']),
                           headers=alice.headers({"Content-Type": "application/json"}), timeout=30)
    assert r.status_code == 201 and r.json()["name"] == "Chunked", r.text


def test_malformed_multipart_names_no_parser_internals(stack, alice):
    before = len(_logged_errors(stack, "boards"))
    project = alice.post(alice.W + "/projects", json={"name": "Files", "templateId": "kanban"}).json()
    P = f"{alice.W}/projects/{project['id']}"
    column = alice.get(P + "/columns").json()[0]["id"]
    card = alice.post(f"{P}/columns/{column}/cards", json={"title": "c"}).json()["id"]
    url = alice.base + f"{P}/cards/{card}/attachments"
    bodies = [b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\xff\xfe\x00bad\r\n\r\nx\r\n--B--\r\n",
              b"--B\r\nnot a header line at all\r\n\r\nx\r\n--B--\r\n",
              b"--B\r\n" + b"X-H: " + b"h" * 70000 + b"\r\n\r\nx\r\n--B--\r\n"]
    for body in bodies:
        r = requests.post(url, data=body, headers=alice.headers({"Content-Type": "multipart/form-data; boundary=B"}),
                          timeout=30)
        body_json = assert_error(r, 400)
        assert body_json["message"].startswith("Malformed multipart body") or "file" in body_json["message"], body_json
        for internal in ("'", "line", "byte", "position", "Error"):
            assert internal not in body_json["message"], body_json
    assert len(_logged_errors(stack, "boards")) == before
