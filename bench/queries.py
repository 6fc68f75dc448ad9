"""SQL statements per page, counted in-process with a before_cursor_execute listener."""
from __future__ import annotations

from sqlalchemy import event


def count_queries(app, user_id: int, paths: dict[str, str]) -> dict:
    """For each label → path: the statements a signed-in GET runs (the second visit, so both
    pages are counted in the same state: templates compiled, read state already there)."""
    from app.extensions import db

    results: dict[str, dict] = {}
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        client = app.test_client()
        with app.app_context():
            from app.services import sessions

            session_id = sessions.start(user_id=user_id)
        with client.session_transaction() as session:
            session["_user_id"] = session_id
            session["_fresh"] = True
        for label, path in paths.items():
            first = client.get(path)
            statements.clear()
            second = client.get(path)
            error = ""
            if second.status_code >= 500:  # say what broke, not just "500"
                app.config["PROPAGATE_EXCEPTIONS"] = True
                try:
                    client.get(path)
                except Exception as exc:  # reported, not raised: the bench goes on
                    error = f"{type(exc).__name__}: {exc}"[:300]
                finally:
                    app.config["PROPAGATE_EXCEPTIONS"] = None
            results[label] = {"path": path, "status": second.status_code, "error": error, "first_status": first.status_code,
                              "queries": len(statements), "statements": [s.split("\n")[0][:160] for s in statements]}
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return results
