"""Security headers for every response."""
from __future__ import annotations

from flask import Flask, request

# htmx is configured (meta htmx-config) not to inject inline styles, so no 'unsafe-inline'.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    trust_proxies(app)
    https = app.config["BASE_URL"].startswith("https://")

    @app.after_request
    def set_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if https or request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response


def trust_proxies(app: Flask) -> None:
    """The client's address behind TRUSTED_PROXIES reverse proxies (X-Forwarded-For, counted from the
    right, so a client cannot choose it); with 0, the connecting address is the client's and the
    header is ignored. Every per-IP limit and the sign-in history read request.remote_addr."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
