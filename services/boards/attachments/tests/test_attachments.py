"""Attachments through the gateway, against the stack's real SeaweedFS S3 and Mongo stand-in.
Projects and cards are made through the boards core's endpoints; S3 is checked with boto3 and
Mongo with pymongo directly."""
from __future__ import annotations

import io
import uuid
from urllib.parse import quote

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pymongo import MongoClient

from libs.common.mongo import new_id, unit_of_work
from services.boards.attachments.objects import ObjectStore
from services.boards.attachments.service import (
    AttachmentService,
    process_deletions,
    schedule_deletions,
)
from services.boards.attachments.storage import deletion_row, ensure_indexes, epoch_ms
from services.boards.attachments.uploads import Upload
from tests.support import assert_error, register, wait_until

LIMIT = 10 * 1024 * 1024
BUCKET = "stellary-attachments"
BLOB = bytes(range(256)) * 64 + b"\x00\xff" * 100   # binary, every byte value


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def mongo(stack):
    client = MongoClient(f"mongodb://127.0.0.1:{stack.infra.mongo_port}", tz_aware=True)
    yield client
    client.close()


@pytest.fixture(scope="module")
def db(mongo):
    return mongo["stellary_boards"]


@pytest.fixture(scope="module")
def s3(stack):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{stack.infra.s3_port}",
                        aws_access_key_id="stellary", aws_secret_access_key="stellary-secret",
                        region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"))


def object_exists(s3, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def keys_under(s3, prefix: str) -> list[str]:
    resp = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in resp.get("Contents", [])]


def ids_of(user) -> tuple[str, str]:
    org = next(o for o in user.get("/organizations").json() if o["slug"] == user.org)
    ws = next(w for w in user.get(f"/orgs/{user.org}/workspaces").json() if w["slug"] == user.ws)
    return org["id"], ws["id"]


class Board:
    """A kanban project with a card in `user`'s workspace, made through the boards core's endpoints;
    `.C()` is a card's attachments path."""

    def __init__(self, user):
        self.user = user
        self.org_id, self.ws_id = ids_of(user)
        r = user.post(user.W + "/projects", json={"name": "Attachments", "templateId": "kanban"})
        assert r.status_code == 201, r.text
        self.project_id = r.json()["id"]
        self.P = f"{user.W}/projects/{self.project_id}"
        self.column_id = user.get(self.P + "/columns").json()[0]["id"]
        self.card_id = self.new_card()

    def new_card(self) -> str:
        r = self.user.post(f"{self.P}/columns/{self.column_id}/cards", json={"title": "with files"})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def C(self, card_id: str | None = None) -> str:
        return f"{self.P}/cards/{card_id or self.card_id}/attachments"

    def prefix(self, card_id: str | None = None) -> str:
        return f"{self.org_id}/{self.ws_id}/{self.project_id}/{card_id or self.card_id}/"

    def attachment_count(self, card_id: str | None = None) -> int:
        r = self.user.get(f"{self.P}/cards/{card_id or self.card_id}")
        assert r.status_code == 200, r.text
        return r.json()["attachmentCount"]

    def upload(self, name="a.bin", data=b"hello", content_type=None, card_id=None, user=None):
        part = (name, data) if content_type is None else (name, data, content_type)
        return (user or self.user).post(self.C(card_id), files={"file": part})


@pytest.fixture
def board(alice):
    return Board(alice)


# ----------------------------------------------------------------------------- round trip

def test_upload_download_round_trip_keeps_bytes_type_and_non_ascii_name(board, db, s3):
    name = "Rapport d’été 2026 – ✓ (final).bin"
    r = board.upload(name, BLOB, "application/x-stellary-test")
    assert r.status_code == 201, r.text
    meta = r.json()
    assert set(meta) == {"id", "cardId", "uploadedBy", "originalName", "mimeType", "size", "createdAt"}
    assert meta["cardId"] == board.card_id and meta["uploadedBy"] == board.user.user_id
    assert meta["originalName"] == name and meta["mimeType"] == "application/x-stellary-test"
    assert meta["size"] == len(BLOB) and meta["createdAt"].endswith("Z")

    got = board.user.get(f"{board.C()}/{meta['id']}")
    assert got.status_code == 200
    assert got.content == BLOB
    assert got.headers["Content-Type"] == "application/x-stellary-test"
    assert got.headers["Content-Length"] == str(len(BLOB))
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition

    listed = board.user.get(board.C()).json()
    assert listed == [meta]
    assert board.attachment_count() == 1
    row = db.attachments.find_one({"_id": meta["id"]})
    assert object_exists(s3, row["key"]) and row["key"].startswith(board.prefix())
    assert db.s3_deletions.count_documents({"key": row["key"]}) == 0   # the upload guard is gone


def test_large_download_streams_every_byte(board):
    data = bytes(range(251)) * (3 * 1024 * 1024 // 251)   # ~3 MB: streamed, not buffered, by the gateway
    r = board.upload("big.dat", data, "application/octet-stream")
    assert r.status_code == 201, r.text
    got = board.user.get(f"{board.C()}/{r.json()['id']}", stream=True)
    assert got.status_code == 200 and got.headers["Content-Length"] == str(len(data))
    assert b"".join(got.iter_content(65536)) == data


def test_the_references_curl_example_works(board, tmp_path):
    """`curl -F "file=@./document.pdf"` as in the reference; 2 MB makes curl send
    `Expect: 100-continue` through the gateway to the service."""
    import json
    import shutil
    import subprocess

    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    source = tmp_path / "document.pdf"
    source.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8192)
    auth = f"Authorization: Bearer {board.user.token}"
    out = subprocess.run(["curl", "-sS", "-X", "POST", board.user.base + board.C(), "-H", auth,
                          "-F", f"file=@{source}"], capture_output=True, timeout=60, check=True)
    meta = json.loads(out.stdout)
    assert meta["originalName"] == "document.pdf" and meta["mimeType"] == "application/pdf"
    assert meta["size"] == source.stat().st_size
    target = tmp_path / "downloaded"
    subprocess.run(["curl", "-sS", "-f", "-o", str(target), board.user.base + f"{board.C()}/{meta['id']}",
                    "-H", auth], timeout=60, check=True)
    assert target.read_bytes() == source.read_bytes()


def test_list_is_in_upload_order_and_counts_follow(board):
    ids = [board.upload(f"f{i}.txt", f"file {i}".encode(), "text/plain").json()["id"] for i in range(3)]
    listed = board.user.get(board.C()).json()
    assert [a["id"] for a in listed] == ids
    assert [a["originalName"] for a in listed] == ["f0.txt", "f1.txt", "f2.txt"]
    assert board.attachment_count() == 3
    other_card = board.new_card()
    assert board.user.get(board.C(other_card)).json() == []


def test_mime_type_from_part_else_guessed_from_name(board):
    r = board.upload("notes.pdf", b"%PDF-1.4")                       # no part Content-Type
    assert r.json()["mimeType"] == "application/pdf"
    r = board.upload("photo.png", b"\x89PNG", "application/octet-stream")   # generic: guess
    assert r.json()["mimeType"] == "image/png"
    r = board.upload("data.zz-unknown", b"?")
    assert r.json()["mimeType"] == "application/octet-stream"
    r = board.upload("page.txt", b"hi", "Text/Plain; charset=utf-8")
    assert r.json()["mimeType"] == "text/plain"
    got = board.user.get(f"{board.C()}/{r.json()['id']}")
    assert got.headers["Content-Type"] == "text/plain" and got.headers["X-Content-Type-Options"] == "nosniff"


def test_original_name_is_sanitised(board):
    r = board.upload("..\\..\\C:\\Users\\me/../../etc/pass\x00wd\u202e.txt", b"x", "text/plain")
    assert r.status_code == 201, r.text
    assert r.json()["originalName"] == "passwd.txt"
    r = board.upload("/", b"x", "text/plain")
    assert r.json()["originalName"] == "file"


def test_empty_file_is_a_file(board):
    r = board.upload("empty.txt", b"", "text/plain")
    assert r.status_code == 201, r.text
    assert r.json()["size"] == 0
    got = board.user.get(f"{board.C()}/{r.json()['id']}")
    assert got.status_code == 200 and got.content == b"" and got.headers["Content-Length"] == "0"


def test_missing_file_is_400(board):
    assert_error(board.user.post(board.C(), files={"other": ("a.txt", b"x")}), 400, "file")
    assert_error(board.user.post(board.C(), data={"file": "not a file part"}), 400, "file")
    assert_error(board.user.post(board.C(), json={"file": "x"}), 400, "multipart")
    assert_error(board.user.post(board.C()), 400)
    # what a browser sends when no file was chosen: an empty part without a name
    assert_error(board.user.post(board.C(), files={"file": ("", b"")}), 400, "file")
    assert_error(board.user.post(board.C(), files=[("file", ("a", b"1")), ("file", ("b", b"2"))]), 400)
    assert board.user.get(board.C()).json() == []
    assert board.attachment_count() == 0


def test_malformed_multipart_is_400(board):
    r = board.user.post(board.C(), data=b"--xx\r\nnot a part",
                        headers={"Content-Type": "multipart/form-data; boundary=xx"})
    assert_error(r, 400)


def test_concurrent_uploads_and_deletes_keep_metadata_objects_and_count_in_step(board, db, s3):
    from concurrent.futures import ThreadPoolExecutor

    def upload(i):
        return board.user.with_token(board.user.token).post(
            board.C(), files={"file": (f"c{i}.txt", f"content {i}".encode(), "text/plain")})

    with ThreadPoolExecutor(8) as pool:
        uploads = list(pool.map(upload, range(16)))
    assert [r.status_code for r in uploads] == [201] * 16, [r.text for r in uploads if r.status_code != 201][:2]
    ids = {r.json()["id"] for r in uploads}
    assert {a["id"] for a in board.user.get(board.C()).json()} == ids
    assert len(keys_under(s3, board.prefix())) == 16
    assert board.attachment_count() == 16

    def delete(attachment_id):
        return board.user.with_token(board.user.token).delete(f"{board.C()}/{attachment_id}")

    with ThreadPoolExecutor(8) as pool:
        deletes = list(pool.map(delete, sorted(ids)))
    assert [r.status_code for r in deletes] == [200] * 16, [r.text for r in deletes if r.status_code != 200][:2]
    assert board.user.get(board.C()).json() == []
    wait_until(lambda: keys_under(s3, board.prefix()) == [], timeout=15, message="every object deleted")
    assert board.attachment_count() == 0


# ----------------------------------------------------------------------------- size limit

def test_exactly_the_limit_is_accepted(board):
    data = b"\xab" * LIMIT
    r = board.upload("ten.bin", data, "application/octet-stream")
    assert r.status_code == 201, r.text[:300]
    assert r.json()["size"] == LIMIT
    got = board.user.get(f"{board.C()}/{r.json()['id']}")
    assert len(got.content) == LIMIT and got.content == data


def test_one_byte_over_the_limit_is_413_and_nothing_is_stored(board, db, s3):
    before_rows = db.s3_deletions.count_documents({})
    r = board.upload("big.bin", b"\x01" * (LIMIT + 1), "application/octet-stream")
    assert_error(r, 413)
    assert board.user.get(board.C()).json() == []
    assert board.attachment_count() == 0
    assert db.attachments.count_documents({"cardId": board.card_id}) == 0
    assert keys_under(s3, board.prefix()) == []
    assert db.s3_deletions.count_documents({}) == before_rows


def test_over_the_limit_in_a_chunked_body_is_413(board, s3):
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():        # no Content-Length: the size is only known while streaming
        yield head
        for _ in range(10):
            yield b"\x02" * (1024 * 1024)
        yield b"\x02"   # LIMIT + 1
        yield tail

    r = board.user.post(board.C(), data=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413, r.text[:300]
    assert keys_under(s3, board.prefix()) == []
    assert board.user.get(board.C()).json() == []


# ----------------------------------------------------------------------------- isolation

def test_another_orgs_user_gets_404_everywhere(board, base, s3):
    meta = board.upload("secret.txt", b"top secret", "text/plain").json()
    bob = register(base, name="Bob")
    own = f"{bob.W}/projects/{board.project_id}/cards/{board.card_id}/attachments"   # bob's workspace path
    for path in (board.C(), own):   # alice's path: the gateway's guard; bob's own: the card is not there
        assert_error(bob.get(path), 404)
        assert_error(bob.post(path, files={"file": ("x.txt", b"x")}), 404)
        assert_error(bob.get(f"{path}/{meta['id']}"), 404)
        assert_error(bob.delete(f"{path}/{meta['id']}"), 404)
    assert board.user.get(board.C()).json() == [meta]
    assert board.user.get(f"{board.C()}/{meta['id']}").content == b"top secret"
    assert len(keys_under(s3, board.prefix())) == 1


def test_a_read_only_token_can_list_and_download_but_not_upload_or_delete(board):
    meta = board.upload("r.txt", b"read me", "text/plain").json()
    r = board.user.post("/api-tokens", json={"name": "read-only", "scopes": ["projects:read"]})
    assert r.status_code == 201, r.text
    reader = board.user.with_token(r.json()["token"])
    assert reader.get(board.C()).json() == [meta]
    assert reader.get(f"{board.C()}/{meta['id']}").content == b"read me"
    assert_error(reader.post(board.C(), files={"file": ("x.txt", b"x")}), 403)
    assert_error(reader.delete(f"{board.C()}/{meta['id']}"), 403)
    assert board.user.get(board.C()).json() == [meta]


def test_malformed_or_unknown_ids_are_404(board):
    meta = board.upload("a.txt", b"a", "text/plain").json()
    P = board.P
    assert_error(board.user.get(f"{P}/cards/not-an-id/attachments"), 404)
    assert_error(board.user.get(f"{P}/cards/{new_id()}/attachments"), 404)
    assert_error(board.user.post(f"{P}/cards/{new_id()}/attachments", files={"file": ("a", b"a")}), 404)
    assert_error(board.user.get(f"{board.user.W}/projects/{new_id()}/cards/{board.card_id}/attachments"), 404)
    assert_error(board.user.get(f"{board.user.W}/projects/zz/cards/{board.card_id}/attachments/{meta['id']}"), 404)
    assert_error(board.user.get(f"{board.C()}/nope"), 404)
    assert_error(board.user.get(f"{board.C()}/{new_id()}"), 404)
    assert_error(board.user.delete(f"{board.C()}/nope"), 404)
    other_card = board.new_card()   # right attachment id, wrong card
    assert_error(board.user.get(f"{board.C(other_card)}/{meta['id']}"), 404)
    assert_error(board.user.delete(f"{board.C(other_card)}/{meta['id']}"), 404)
    assert board.attachment_count() == 1


# ----------------------------------------------------------------------------- deletion

def test_delete_removes_metadata_and_object(board, db, s3):
    keep = board.upload("keep.txt", b"keep", "text/plain").json()
    gone = board.upload("gone.txt", b"gone", "text/plain").json()
    key = db.attachments.find_one({"_id": gone["id"]})["key"]
    assert object_exists(s3, key)
    r = board.user.delete(f"{board.C()}/{gone['id']}")
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert not object_exists(s3, key)                          # deleted before answering
    assert db.s3_deletions.count_documents({"key": key}) == 0
    assert board.user.get(board.C()).json() == [keep]
    assert board.attachment_count() == 1
    assert_error(board.user.get(f"{board.C()}/{gone['id']}"), 404)
    assert_error(board.user.delete(f"{board.C()}/{gone['id']}"), 404)
    assert board.attachment_count() == 1


def test_schedule_deletions_queues_in_the_callers_transaction_and_the_worker_deletes(board, mongo, db, s3):
    """The seam the boards core calls when it deletes cards / a project / a workspace / an org."""
    card2 = board.new_card()
    a = board.upload("a.txt", b"a", "text/plain").json()
    b = board.upload("b.txt", b"b", "text/plain", card_id=card2).json()
    keys = [db.attachments.find_one({"_id": x["id"]})["key"] for x in (a, b)]

    with pytest.raises(RuntimeError):        # an aborted transaction queues nothing, removes nothing
        with unit_of_work(mongo) as s:
            assert schedule_deletions(db, project_id=board.project_id, session=s) == 2
            raise RuntimeError("the core's transaction fails")
    assert db.attachments.count_documents({"projectId": board.project_id}) == 2
    assert db.s3_deletions.count_documents({"key": {"$in": keys}}) == 0

    with unit_of_work(mongo) as s:
        assert schedule_deletions(db, card_ids=[board.card_id], workspace_id=board.ws_id, session=s) == 1
    assert db.attachments.count_documents({"cardId": board.card_id}) == 0
    wait_until(lambda: not object_exists(s3, keys[0]), timeout=15, message="worker deleted the object")
    wait_until(lambda: db.s3_deletions.count_documents({"key": keys[0]}) == 0, message="queue row removed")
    assert object_exists(s3, keys[1])        # the other card's file is untouched

    with unit_of_work(mongo) as s:
        assert schedule_deletions(db, project_id=board.project_id, session=s) == 1
    wait_until(lambda: not object_exists(s3, keys[1]), timeout=15, message="worker deleted the object")
    with pytest.raises(ValueError):
        schedule_deletions(db)


def test_deletion_is_retried_until_s3_accepts(stack, mongo, s3):
    """The worker job against a dead S3 port keeps the row (attempts, lastError, nextAt backoff),
    then against the real S3 deletes the object and the row. A private database keeps the stack's
    own worker out of the way."""
    tdb = mongo[f"stellary_test_attach_{uuid.uuid4().hex[:8]}"]
    try:
        ensure_indexes(tdb)
        key = f"test-retry/{uuid.uuid4().hex}"
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"to delete")
        tdb.s3_deletions.insert_one(deletion_row(key, reason="test"))
        dead = ObjectStore(endpoint="http://127.0.0.1:9", bucket=BUCKET, access_key="stellary",
                           secret_key="stellary-secret", region="us-east-1", connect_timeout=0.5,
                           read_timeout=1, max_attempts=1)
        assert process_deletions(tdb, dead) == {"deleted": 0, "failed": 1}
        row = tdb.s3_deletions.find_one({"key": key})
        assert row["attempts"] == 1 and "unreachable" in row["lastError"] and row["nextAt"] > epoch_ms()
        assert process_deletions(tdb, dead) == {"deleted": 0, "failed": 0}   # not due yet: backoff
        tdb.s3_deletions.update_one({"_id": row["_id"]}, {"$set": {"nextAt": epoch_ms()}})
        assert process_deletions(tdb, dead) == {"deleted": 0, "failed": 1}
        row2 = tdb.s3_deletions.find_one({"key": key})
        assert row2["attempts"] == 2 and row2["nextAt"] - epoch_ms() > 1000   # 2 s backoff
        assert object_exists(s3, key)

        tdb.s3_deletions.update_one({"_id": row["_id"]}, {"$set": {"nextAt": epoch_ms()}})
        live = ObjectStore(endpoint=f"http://127.0.0.1:{stack.infra.s3_port}", bucket=BUCKET,
                           access_key="stellary", secret_key="stellary-secret", region="us-east-1")
        assert process_deletions(tdb, live) == {"deleted": 1, "failed": 0}
        assert not object_exists(s3, key)
        assert tdb.s3_deletions.count_documents({}) == 0
    finally:
        mongo.drop_database(tdb.name)


def test_retry_times_survive_set_on_the_stand_in(mongo):
    """Why `nextAt` is epoch ms: the embedded stand-in stores a datetime given to `$set` as text
    (no ms, no zone), which a date range query then never matches. Numbers work everywhere."""
    tdb = mongo[f"stellary_test_attach_{uuid.uuid4().hex[:8]}"]
    try:
        tdb.q.insert_one({"_id": "r", "nextAt": epoch_ms(3600)})
        tdb.q.update_one({"_id": "r"}, {"$set": {"nextAt": epoch_ms()}})
        assert isinstance(tdb.q.find_one({"_id": "r"})["nextAt"], int)
        assert tdb.q.count_documents({"nextAt": {"$lte": epoch_ms()}}) == 1
    finally:
        mongo.drop_database(tdb.name)


def test_failed_metadata_write_deletes_the_uploaded_object(stack, mongo, s3, board):
    """Upload order: object first, then metadata; if the metadata write fails (here: the card
    vanished meanwhile), the object is deleted and no guard row stays behind."""
    import tempfile

    from libs.common.context import Caller
    from libs.common.errors import NotFound

    tdb = mongo[f"stellary_test_attach_{uuid.uuid4().hex[:8]}"]
    try:
        ensure_indexes(tdb)
        live = ObjectStore(endpoint=f"http://127.0.0.1:{stack.infra.s3_port}", bucket=BUCKET,
                           access_key="stellary", secret_key="stellary-secret", region="us-east-1")

        class Settings:
            max_upload_bytes = LIMIT

        service = AttachmentService(db=tdb, client=mongo, objects=live, settings=Settings())
        card = {"id": new_id(), "orgId": new_id(), "workspaceId": new_id(), "projectId": new_id()}   # not in db
        spool = tempfile.SpooledTemporaryFile()
        spool.write(b"orphan?")
        caller = Caller(user_id=new_id())
        with pytest.raises(NotFound):
            service.create(caller=caller, card=card, upload=Upload(file=spool, filename="o.txt",
                                                                   mime_type="text/plain", size=7))
        prefix = f"{card['orgId']}/"
        assert keys_under(s3, prefix) == []
        assert tdb.s3_deletions.count_documents({}) == 0 and tdb.attachments.count_documents({}) == 0
    finally:
        mongo.drop_database(tdb.name)


def test_upload_while_s3_is_down_is_503_and_leaves_a_due_cleanup_row(mongo):
    import tempfile

    from libs.common.context import Caller
    from libs.common.errors import ServiceUnavailable

    tdb = mongo[f"stellary_test_attach_{uuid.uuid4().hex[:8]}"]
    try:
        ensure_indexes(tdb)
        dead = ObjectStore(endpoint="http://127.0.0.1:9", bucket=BUCKET, access_key="stellary",
                           secret_key="stellary-secret", region="us-east-1", connect_timeout=0.5, max_attempts=1)

        class Settings:
            max_upload_bytes = LIMIT

        service = AttachmentService(db=tdb, client=mongo, objects=dead, settings=Settings())
        card = {"id": new_id(), "orgId": new_id(), "workspaceId": new_id(), "projectId": new_id()}
        tdb.cards.insert_one({"_id": card["id"], "orgId": card["orgId"], "workspaceId": card["workspaceId"],
                              "projectId": card["projectId"], "attachmentCount": 0})
        spool = tempfile.SpooledTemporaryFile()
        spool.write(b"data")
        with pytest.raises(ServiceUnavailable):
            service.create(caller=Caller(user_id=new_id()), card=card,
                           upload=Upload(file=spool, filename="d.txt", mime_type="text/plain", size=4))
        assert tdb.attachments.count_documents({}) == 0
        assert tdb.cards.find_one({"_id": card["id"]})["attachmentCount"] == 0
        row = tdb.s3_deletions.find_one({})
        assert row["key"].startswith(f"{card['orgId']}/") and row["nextAt"] <= epoch_ms()
    finally:
        mongo.drop_database(tdb.name)


# ----------------------------------------------------------------------------- cascades (boards core)

def test_deleting_the_card_deletes_its_objects(board, db, s3):
    board.upload("a.txt", b"a", "text/plain")
    board.upload("b.txt", b"b", "text/plain")
    assert len(keys_under(s3, board.prefix())) == 2
    r = board.user.delete(f"{board.P}/cards/{board.card_id}")
    assert r.status_code == 200, r.text
    wait_until(lambda: keys_under(s3, board.prefix()) == [], timeout=15, message="card's objects deleted")
    assert db.attachments.count_documents({"cardId": board.card_id}) == 0
    assert_error(board.user.get(board.C()), 404)


def test_deleting_the_project_deletes_its_objects(board, db, s3):
    card2 = board.new_card()
    board.upload("a.txt", b"a", "text/plain")
    board.upload("b.txt", b"b", "text/plain", card_id=card2)
    project_prefix = f"{board.org_id}/{board.ws_id}/{board.project_id}/"
    assert len(keys_under(s3, project_prefix)) == 2
    r = board.user.delete(board.P)
    assert r.status_code == 200, r.text
    wait_until(lambda: keys_under(s3, project_prefix) == [], timeout=15, message="project's objects deleted")
    assert db.attachments.count_documents({"projectId": board.project_id}) == 0


def test_deleting_a_workspace_then_the_org_deletes_their_objects(alice, db, s3):
    """identity.workspace.deleted / identity.org.deleted → the boards worker deletes the records
    and queues the objects through schedule_deletions."""
    slug = f"files-{uuid.uuid4().hex[:8]}"
    assert alice.post("/organizations", json={"name": "Files", "slug": slug}).status_code == 201
    boards_ = []
    for ws in ("first", "second"):
        assert alice.post(f"/orgs/{slug}/workspaces", json={"name": ws, "slug": ws}).status_code == 201
        member = alice.with_token(alice.token)
        member.org, member.ws, member.W = slug, ws, f"/orgs/{slug}/workspaces/{ws}"
        boards_.append(Board(member))
    first, second = boards_
    for board in boards_:
        board.upload("a.txt", b"a", "text/plain")
        board.upload("b.txt", b"b", "text/plain", card_id=board.new_card())
    ws_prefix = lambda b: f"{b.org_id}/{b.ws_id}/"   # noqa: E731
    assert len(keys_under(s3, ws_prefix(first))) == 2 and len(keys_under(s3, ws_prefix(second))) == 2

    assert alice.delete(first.user.W).status_code == 200
    wait_until(lambda: keys_under(s3, ws_prefix(first)) == [], timeout=30, message="workspace's objects deleted")
    assert db.attachments.count_documents({"workspaceId": first.ws_id}) == 0
    assert len(keys_under(s3, ws_prefix(second))) == 2

    assert alice.delete(f"/organizations/{slug}").status_code == 200
    wait_until(lambda: keys_under(s3, f"{second.org_id}/") == [], timeout=30, message="org's objects deleted")
    assert db.attachments.count_documents({"orgId": second.org_id}) == 0


def test_health_reports_s3(stack):
    import requests

    body = requests.get(stack.service_url("boards") + "/health", timeout=10).json()
    assert body["components"]["s3"] == "up" and body["status"] == "ok"
    down = ObjectStore(endpoint="http://127.0.0.1:9", bucket=BUCKET, access_key="stellary",
                       secret_key="stellary-secret", region="us-east-1")
    assert down.healthy() is False


def test_no_s3_client_until_first_use_which_creates_the_bucket(stack, s3):
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    live = ObjectStore(endpoint=f"http://127.0.0.1:{stack.infra.s3_port}", bucket=bucket,
                       access_key="stellary", secret_key="stellary-secret", region="us-east-1").start()
    try:
        assert live._s3 is None                       # start() loads nothing and calls nobody
        assert live.healthy() is True                 # /health: a plain HTTP probe, still no client
        assert live._s3 is None
        live.put("k", io.BytesIO(b"hello"), size=5, content_type="text/plain")
        s3.head_bucket(Bucket=bucket)                 # the first use made the bucket
        assert b"".join(live.get("k").chunks()) == b"hello"
        live.delete("k")
        assert not live.exists("k")
    finally:
        s3.delete_bucket(Bucket=bucket)
