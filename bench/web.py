"""Pages under load, page weight, and the signed-in sessions both need."""
from __future__ import annotations

import html
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field

from .load import USER_AGENT
from .stack import REPO

FORM_RE = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
ATTR_RE = re.compile(r'([\w:-]+)\s*=\s*("([^"]*)"|\'([^\']*)\'|([^\s>]+))')
INPUT_RE = re.compile(r"<(input|textarea|button)\b([^>]*)>", re.I)


def attrs(tag: str) -> dict[str, str]:
    return {m.group(1).lower(): html.unescape(m.group(3) or m.group(4) or m.group(5) or "") for m in ATTR_RE.finditer(tag)}


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    wire_bytes: int  # status line + headers + body as sent (compressed)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def request(port: int, method: str, path: str, headers: dict | None = None, body: str | None = None) -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        all_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", "Accept": "text/html"}
        all_headers.update(headers or {})
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        raw_headers = response.msg.as_string()
        merged: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            merged[key] = merged[key] + ", " + value if key in merged and key == "set-cookie" else value
        wire = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + len(raw_headers.encode("latin-1", "replace")) + len(data)
        return Response(response.status, merged, data, wire)
    finally:
        conn.close()


def decoded(response: Response) -> str:
    import gzip

    data = response.body
    if response.header("content-encoding") == "gzip":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


@dataclass
class Identity:
    user_id: int
    cookie: str  # "session=…"
    csrf: str = ""
    post_path: str = ""
    post_fields: dict = field(default_factory=dict)


def mint_cookies(app, user_ids: list[int]) -> list[Identity]:
    """Signed-in sessions minted with the app's own session serializer and SECRET_KEY.

    Flask-Login's session-protection identifier is computed for 127.0.0.1 and the load
    generator's User-Agent, as a browser signing in from there would get.
    """
    from app.extensions import login_manager

    out = []
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config.get("SESSION_COOKIE_NAME", "session")
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"User-Agent": USER_AGENT}):
        ident = login_manager._session_identifier_generator()
    from app.services import sessions

    for uid in user_ids:
        with app.app_context():
            session_id = sessions.start(user_id=uid)  # a real server-side session, as signing in makes
        value = serializer.dumps({"_user_id": session_id, "_fresh": True, "_id": ident})
        out.append(Identity(uid, f"{name}={value}"))
    return out


def _update_cookie(identity: Identity, response: Response) -> None:
    for part in re.split(r",\s*(?=[\w-]+=)", response.header("set-cookie")):
        cookie = part.split(";", 1)[0].strip()
        if cookie.startswith(identity.cookie.split("=", 1)[0] + "="):
            identity.cookie = cookie


def find_comment_form(page: str) -> tuple[str, dict] | None:
    """The page's plain (no-JS) comment form: its action and every named field's value."""
    for form_attrs, inner in FORM_RE.findall(page):
        a = attrs(form_attrs)
        if a.get("method", "get").lower() != "post":
            continue
        fields, has_body = {}, False
        for tag, tag_attrs in INPUT_RE.findall(inner):
            t = attrs(tag_attrs)
            if not t.get("name"):
                continue
            if tag.lower() == "textarea" and t["name"] == "body":
                has_body = True
                continue
            if tag.lower() == "input" and t.get("type", "text").lower() in ("hidden",):
                fields[t["name"]] = t.get("value", "")
        if has_body and "comment" in (a.get("action", "") + form_attrs).lower():
            return a.get("action", ""), fields
    return None


def prime(port: int, identities: list[Identity], thread_path: str) -> tuple[bool, str]:
    """Check each session is signed in and pick up its CSRF token from the thread page's form."""
    for identity in identities:
        for _ in range(3):  # the first response may update the session (CSRF token); bounded
            response = request(port, "GET", thread_path, {"Cookie": identity.cookie})
            before = identity.cookie
            _update_cookie(identity, response)
            if before == identity.cookie:
                break
        if response.status != 200:
            return False, f"GET {thread_path} answered {response.status} for member {identity.user_id}"
        form = find_comment_form(decoded(response))
        if form is None:
            return False, f"no comment form (a POST form with a textarea named body) on {thread_path}"
        identity.post_path = urllib.parse.urljoin(thread_path, form[0] or thread_path)
        identity.post_fields = form[1]
    return True, ""


def run_load(spec: dict, timeout: float) -> dict:
    """One measurement, from a separate process so the generator's CPU is not the server's."""
    proc = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(spec), capture_output=True,
                          text=True, cwd=str(REPO), timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {proc.stderr[-500:]}")
    return json.loads(proc.stdout)


def with_set_cookies(cookie: str, set_cookie: str) -> str:
    """The Cookie header a browser sends next: `cookie` updated with the name=value pairs of the
    Set-Cookie header(s) (joined by commas, as the client joins them; attributes ignored)."""
    jar = dict(part.split("=", 1) for part in cookie.split("; ") if "=" in part)
    for name, value in re.findall(r"(?:^|,\s*)([^=;,\s]+)=([^;,]*)", set_cookie or ""):
        jar[name] = value
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def page_weight(port: int, thread_path: str, cookie: str) -> dict:
    """First visit: the page and every stylesheet/script it links, gzip accepted. Repeat visit:
    the page with If-None-Match; static files re-fetched only if not cached for a long time."""
    first = request(port, "GET", thread_path, {"Cookie": cookie})
    if first.status != 200:
        return {"available": False, "why": f"GET {thread_path} answered {first.status}"}
    page = decoded(first)
    assets = []
    for tag in re.findall(r"<link\b[^>]*>", page, re.I):
        a = attrs(tag)
        if "stylesheet" in a.get("rel", "").lower() and a.get("href"):
            assets.append(a["href"])
    for tag in re.findall(r"<script\b[^>]*>", page, re.I):
        a = attrs(tag)
        if a.get("src"):
            assets.append(a["src"])
    items = [{"url": thread_path, "status": first.status, "wire_bytes": first.wire_bytes, "body_bytes": len(first.body),
              "encoding": first.header("content-encoding") or "identity"}]
    repeat_items, off_site = [], []
    for url in dict.fromkeys(assets):
        parts = urllib.parse.urlsplit(url)
        if parts.netloc and parts.hostname not in ("127.0.0.1", "localhost"):
            off_site.append(url)  # another host's file (a CDN): the bench contacts only loopback, so not counted
            continue
        path = parts.path if parts.netloc else url
        asset = request(port, "GET", path, {"Cookie": cookie})
        items.append({"url": path, "status": asset.status, "wire_bytes": asset.wire_bytes,
                      "body_bytes": len(asset.body), "encoding": asset.header("content-encoding") or "identity",
                      "cache_control": asset.header("cache-control")})
        max_age = re.search(r"max-age=(\d+)", asset.header("cache-control"))
        if max_age and int(max_age.group(1)) >= 31536000:
            repeat_items.append({"url": path, "wire_bytes": 0, "cached": True})
        else:  # a browser would revalidate (or, with no validator, fetch again)
            cond = {"Cookie": cookie}
            if asset.header("etag"):
                cond["If-None-Match"] = asset.header("etag")
            if asset.header("last-modified"):
                cond["If-Modified-Since"] = asset.header("last-modified")
            again = request(port, "GET", path, cond)
            repeat_items.append({"url": path, "status": again.status, "wire_bytes": again.wire_bytes, "cached": False})
    # A browser keeps what the first answer set (the session gains its CSRF token then) and sends it back.
    cond = {"Cookie": with_set_cookies(cookie, first.header("set-cookie"))}
    if first.header("etag"):
        cond["If-None-Match"] = first.header("etag")
    again = request(port, "GET", thread_path, cond)
    repeat_items.insert(0, {"url": thread_path, "status": again.status, "wire_bytes": again.wire_bytes})
    return {
        "available": True,
        "first_visit_bytes": sum(i["wire_bytes"] for i in items),
        "first_visit_body_bytes": sum(i["body_bytes"] for i in items),
        "repeat_visit_bytes": sum(i["wire_bytes"] for i in repeat_items),
        "html_uncompressed_bytes": len(page.encode()),
        "first_visit": items, "repeat_visit": repeat_items, "off_site_not_counted": off_site,
    }
