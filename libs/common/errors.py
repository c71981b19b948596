"""The one error body of the API: {"statusCode", "message", "error"} (+ optional "details").

Domain code raises these exceptions; `register_error_handlers` turns them — and every
werkzeug HTTP error, marshmallow error and unexpected exception — into that body.
"""
from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 500

    def __init__(self, message: str | None = None, *, details: dict | None = None, headers: dict | None = None):
        super().__init__(message or HTTPStatus(self.status).phrase)
        self.message = message or HTTPStatus(self.status).phrase
        self.details = details
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class TooManyRequests(ApiError):
    status = 429


class BadGateway(ApiError):
    status = 502


class ServiceUnavailable(ApiError):
    status = 503


class GatewayTimeout(ApiError):
    status = 504


_BY_STATUS = {cls.status: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict,
                                         PayloadTooLarge, TooManyRequests, BadGateway,
                                         ServiceUnavailable, GatewayTimeout)}


def error_for_status(status: int, message: str, details: dict | None = None) -> ApiError:
    """Rebuild a domain error from a status (used for errors that cross NATS)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        err = ApiError(message, details=details)
        err.status = status
        return err
    return cls(message, details=details)


def error_body(status: int, message: str, details: dict | None = None) -> dict:
    body = {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}
    if details:
        body["details"] = details
    return body


def validation_message(messages) -> str:
    """A readable one-line summary of marshmallow messages: 'title: Missing data for required field.'"""
    if isinstance(messages, dict):
        parts = []
        for field, msgs in messages.items():
            if isinstance(msgs, dict):
                inner = validation_message(msgs)
                parts.append(f"{field}.{inner}" if not str(field).startswith("_") else inner)
            else:
                text = " ".join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))
                parts.append(text if field == "_schema" else f"{field}: {text}")
        return "; ".join(parts) or "Validation failed"
    if isinstance(messages, list):
        return " ".join(str(m) for m in messages)
    return str(messages)


def _json_error(status: int, message: str, details=None, headers=None):
    response = jsonify(error_body(status, message, details))
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def is_body_error(err: BaseException) -> bool:
    """An error of the server's HTTP parser while the app read the body (gunicorn's bad chunk,
    a body cut short by the client): a 400, nothing to log."""
    from .asyncweb import ClientGone
    return type(err).__module__.startswith(("gunicorn.http", "gunicorn.asgi")) or isinstance(err, ClientGone)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError):
        return _json_error(err.status, err.message, err.details, err.headers)

    @app.errorhandler(ValidationError)
    def _validation_error(err: ValidationError):
        messages = err.normalized_messages()
        return _json_error(400, validation_message(messages), messages)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        status = err.code or 500
        message = err.description if status != 404 else "Not Found"
        if status == 405:
            message = "Method Not Allowed"
        if status == 413:
            message = "Payload Too Large"
        response = _json_error(status, message)
        if status == 405 and getattr(err, "valid_methods", None):
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # the last line of defence: log it, never leak it
        if is_body_error(err):  # the client's fault, not ours: no traceback
            return _json_error(400, "Malformed or incomplete request body")
        log.exception("unhandled error: %s", err)
        return _json_error(500, "Internal server error")
