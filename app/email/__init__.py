"""Outbound email: render (templates/email/<kind>/), compose, queue idempotently, deliver."""
from .outbox import deliver, dispatch, queue_message
from .render import Rendered, render_email

__all__ = ["deliver", "dispatch", "queue_message", "render_email", "Rendered"]
