"""A WSGI app that answers 200 to anything: the access-log test needs a real gunicorn, not our app."""


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
