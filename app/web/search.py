"""Search across every thread and comment the person may see."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import search as search_index
from ..extensions import limiter
from .helpers import client_ip
from .loaders import search_results

bp = Blueprint("search", __name__)


@bp.get("/search")
@limiter.limit("120 per minute", key_func=client_ip)
def search():
    q = (request.args.get("q") or "").strip()[:search_index.QUERY_MAX]
    results = search_results(q)
    return render_template("search/results.html", q=q, results=results)
