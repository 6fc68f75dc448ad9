"""The web baseline: a bare Flask + Flask-SQLAlchemy app whose one page runs one query.

Served by gunicorn with Quorum's own settings (app.cli.gunicorn_args) on the same database,
so the ratio Quorum / baseline shows what Quorum's own work costs on this machine, now.
`BENCH_THREAD_ID` names the row the page reads (the 50-comment thread).
"""
from __future__ import annotations

import os

from flask import Flask, render_template_string
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1><p>{{ count }} comments</p></main></body></html>"""


def create_app() -> Flask:
    app = Flask(__name__)
    url = os.environ["DATABASE_URL"]
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db = SQLAlchemy(app)
    thread_id = int(os.environ.get("BENCH_THREAD_ID", "1"))

    @app.get("/")
    def page():
        row = db.session.execute(text("SELECT title, comments_count FROM discussions WHERE id = :id"),
                                 {"id": thread_id}).one()
        return render_template_string(PAGE, title=row.title, count=row.comments_count)

    return app


app = create_app()
