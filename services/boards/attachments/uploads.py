"""Reading an upload: multipart/form-data streamed from the request into a spooled temporary file
(in memory up to 1 MB, then on disk), with the size limit enforced while the bytes arrive.

The whole body is always read, even past the limit or on a bad request: answering before the
client finished sending breaks the gateway's upstream connection. Bytes past the limit are
discarded, never kept, and draining stops at `limit * 4` (then the connection is dropped).
"""
from __future__ import annotations

import mimetypes
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
)

from libs.common.errors import BadRequest, PayloadTooLarge

READ_SIZE = 64 * 1024
SPOOL_IN_MEMORY = 1024 * 1024
MAX_NAME_CHARS = 255
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Upload:
    file: tempfile.SpooledTemporaryFile
    filename: str
    mime_type: str
    size: int

    def close(self) -> None:
        self.file.close()


def sanitize_filename(raw: str | None) -> str:
    """The name a user sees again on download: no path, no control or bidi characters, ≤255 chars.

    'C:\\Users\\me\\résumé.pdf' -> 'résumé.pdf'; '../../etc/passwd' -> 'passwd'; '' -> 'file'.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("", name).strip().strip(".").strip()
    if not name:
        return "file"
    if len(name) > MAX_NAME_CHARS:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: MAX_NAME_CHARS - len(ext)] + ext
    return name


def mime_type_for(part_content_type: str | None, filename: str) -> str:
    """The part's Content-Type when it is specific; else a guess from the name; else octet-stream."""
    declared = parse_options_header(part_content_type or "")[0].strip().lower()
    if declared and _MIME.match(declared) and declared != "application/octet-stream":
        return declared
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def read_upload(stream, content_type: str | None, *, limit: int, field: str = "file") -> Upload:
    """Parse the request body; return the one `field` file part, spooled.

    Raises BadRequest (not multipart, malformed, no/several `field` parts) or PayloadTooLarge
    (the file exceeds `limit` bytes; nothing is kept).
    """
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if mimetype != "multipart/form-data" or not boundary:
        drain(stream, limit * 4)
        raise BadRequest(f"Expected multipart/form-data with a '{field}' field")

    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=4 * READ_SIZE, max_parts=100)
    spool = None
    current = None            # the part being received: "file", "other"
    found = 0
    size = 0
    too_large = False
    filename = part_type = None
    error: Exception | None = None
    received = 0
    try:
        while True:
            chunk = stream.read(READ_SIZE)
            received += len(chunk)
            if error is not None:          # keep reading to the end, then answer
                if not chunk or received > limit * 4:
                    break
                continue
            try:
                decoder.receive_data(chunk or None)
                event = decoder.next_event()
                while not isinstance(event, (NeedData, Epilogue)):
                    if isinstance(event, File) and event.name == field:
                        found += 1
                        current = "file" if found == 1 else "other"
                        if found == 1:
                            filename = event.filename
                            part_type = event.headers.get("Content-Type")
                            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
                    elif isinstance(event, (File, Field)):
                        current = "other"
                    elif isinstance(event, Data) and current == "file" and not too_large:
                        size += len(event.data)
                        if size > limit:
                            too_large = True
                            spool.close()  # drop what we have; the rest is discarded
                            spool = None
                        else:
                            spool.write(event.data)
                    event = decoder.next_event()
            except ValueError:             # malformed multipart, undecodable headers
                error = BadRequest("Malformed multipart body")  # (the parser's own words stay internal)
                continue
            except Exception:              # noqa: BLE001 - werkzeug limits (too many parts, big fields)
                error = BadRequest("Malformed multipart body: too many parts or a part too large")
                continue
            if not chunk or isinstance(event, Epilogue):
                drain(stream, limit * 4 - received)
                break
        if error is not None:
            raise error
        if too_large:
            raise PayloadTooLarge(f"File too large (limit {limit} bytes)")
        if found == 0 or (found == 1 and not filename and size == 0):
            raise BadRequest(f"Missing file: send it as the multipart field '{field}'")
        if found > 1:
            raise BadRequest(f"Send exactly one '{field}' part")
        name = sanitize_filename(filename)
        upload = Upload(file=spool, filename=name, mime_type=mime_type_for(part_type, name), size=size)
        spool = None
        upload.file.seek(0)
        return upload
    finally:
        if spool is not None:
            spool.close()


def drain(stream, cap: int) -> None:
    """Read and discard what is left of the body (up to `cap` bytes)."""
    left = cap
    while left > 0:
        chunk = stream.read(min(READ_SIZE, left))
        if not chunk:
            return
        left -= len(chunk)
