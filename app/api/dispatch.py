"""/api/v1/: one Flask view that finds the operation (app/api/schema.py), authenticates the bearer
token, counts the token's rate limit, checks the request against the operation's description, calls
its handler (which calls the same services as the web) and answers JSON, or RFC 9457 problem+json
for every refusal, routing ones included.

Only `Authorization: Bearer` authenticates: a session cookie is never read here, so a request a
browser makes on its own (a cross-site form, an image) carries nothing that counts, and the API
needs no CSRF token (it is exempt from CSRFProtect for that reason alone).
"""
from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import MethodNotAllowed, NotFound as NoRoute
from werkzeug.routing import Map, Rule

from .. import policy
from ..extensions import csrf, limiter
from ..services import api_tokens
from ..services.errors import DomainError, Invalid, NotAllowed, NotFound, RateLimited
from . import schema
from .problems import problem
from .schema import OPERATIONS, InvalidRequest

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_MAP: dict[str, Map] = {}


class Caller:
    """Who is calling: the token's account and what the token may do."""

    def __init__(self, token):
        self.token = token
        self.user = token.user

    @property
    def id(self) -> int:
        return self.user.id


def _routes() -> Map:
    if "map" not in _MAP:
        rules = [Rule(schema.PATH_PARAM.sub(r"<\1>", op.path), methods=[op.method], endpoint=index)
                 for index, op in enumerate(OPERATIONS)]
        _MAP["map"] = Map(rules, strict_slashes=False, merge_slashes=False)
    return _MAP["map"]


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _unauthenticated(detail: str):
    response = problem(401, detail)
    response.headers["WWW-Authenticate"] = 'Bearer realm="quorum"'
    return response


def _over_limit(token_id: int):
    """Count this request against the token's limit; a 429 problem when it is spent, else None."""
    if not current_app.config.get("RATELIMIT_ENABLED", True) or not limiter.enabled:
        return None
    from limits import parse

    item = parse(current_app.config["API_RATE_LIMIT"])
    try:
        if limiter.limiter.hit(item, "api-token", str(token_id)):
            return None
        reset, _ = limiter.limiter.get_window_stats(item, "api-token", str(token_id))
    except Exception:  # the limit store away: Flask-Limiter's own fallback rules apply to the pages; let it through
        log.warning("API rate limit store unavailable; request allowed")
        return None
    import time

    response = problem(429, "Too many requests for this token. Please wait a little and try again.")
    response.headers["Retry-After"] = str(max(int(reset - time.time()), 1))
    return response


def _path_values(op, values: dict):
    out = {}
    for name, value in values.items():
        if op.path_types.get(name, "integer") == "integer":
            if not value.isdigit() or len(value) > 18:
                return None
            out[name] = int(value)
        else:
            out[name] = value
    return out


def _json_body():
    if not request.get_data():
        return None, problem(400, "This operation takes a JSON body.")
    try:
        return json.loads(request.get_data()), None
    except (ValueError, UnicodeDecodeError):
        return None, problem(400, "The body is not valid JSON.")


def _whole_numbers(value):
    """JSON's 2.0 is JSON Schema's integer: hand the services a Python int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def _domain_problem(error: DomainError):
    if isinstance(error, NotFound):
        return problem(404, "There is nothing here, or you do not have access to it.")
    if isinstance(error, RateLimited):
        return problem(429, error.message)
    if isinstance(error, Invalid) or (error.field and not isinstance(error, NotAllowed)):
        return problem(422, error.message, errors=[{"field": error.field or "body", "message": error.message}])
    return problem(403, error.message)


@bp.route("/", methods=METHODS)
@bp.route("/<path:rest>", methods=METHODS)
@csrf.exempt  # bearer tokens only, never cookies: no request a browser makes unasked can authenticate here
def dispatch(rest: str = ""):
    if rest == "openapi.json" and request.method in ("GET", "HEAD"):
        response = jsonify(schema.openapi_document(current_app.config["BASE_URL"]))
        response.headers["Cache-Control"] = "public, max-age=300"
        return response
    try:
        index, values = _routes().bind("localhost").match("/" + rest, method=request.method)
    except MethodNotAllowed as error:
        response = problem(405, "This address does not accept this method.")
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods or []))
        return response
    except NoRoute:
        return problem(404, "There is nothing here, or you do not have access to it.")
    op = OPERATIONS[index]
    secret = _bearer()
    if secret is None:
        return _unauthenticated("Send a token: Authorization: Bearer <token>. Make one at /account/tokens.")
    token = api_tokens.caller_by_token(secret)
    if token is None:
        return _unauthenticated("This token is not valid: it may have been revoked.")
    g._login_user = token.user  # for this request only (no session): the access log names who read
    g.api_token_id = token.id
    limited = _over_limit(token.id)
    if limited is not None:
        return limited
    if not policy.token_allows(token.scope, writes=op.writes):
        return problem(403, "This token may only read. Make a read and write token to change anything.")
    path = _path_values(op, values)
    if path is None:
        return problem(404, "There is nothing here, or you do not have access to it.")
    try:
        query = schema.checked_query(op, request.args)
        body = None
        if op.body is not None:
            body, bad = _json_body()
            if bad is not None:
                return bad
            body = _whole_numbers(schema.checked_body(op, body))
    except InvalidRequest as invalid:
        return problem(422, "Some of what was sent is not valid.",
                       errors=[{"field": e.field, "message": e.message} for e in invalid.errors])
    kwargs = dict(path)
    if op.query_schema["properties"]:
        kwargs["query"] = query
    if op.body is not None:
        kwargs["body"] = body
    try:
        result = op.handler(Caller(token), **kwargs)
    except InvalidRequest as invalid:
        return problem(422, "Some of what was sent is not valid.",
                       errors=[{"field": e.field, "message": e.message} for e in invalid.errors])
    except DomainError as error:
        return _domain_problem(error)
    response = jsonify(result)
    response.status_code = op.status
    response.headers["Cache-Control"] = "private, no-store"
    if op.paginated and result.get("next"):
        response.headers["Link"] = f'<{result["next"]}>; rel="next"'
    return response
