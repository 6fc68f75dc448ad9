"""Search across every thread, comment, poll, outcome and vote reason the person may see, with filters for
group, kind and open/closed (a GET form: works without JavaScript)."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import search as search_index
from ..extensions import limiter
from .helpers import client_ip
from .loaders import search_groups, search_results

bp = Blueprint("search", __name__)


@bp.get("/search")
@limiter.limit("120 per minute", key_func=client_ip)
def search():
    q = (request.args.get("q") or "").strip()[:search_index.QUERY_MAX]
    filters = search_index.Filters.read(request.args.get("group"), request.args.get("kind"), request.args.get("status"))
    results = search_results(q, filters)
    return render_template("search/results.html", q=q, results=results, filters=filters, groups=search_groups(),
                           kinds=search_index.KINDS, statuses=search_index.STATUSES)
