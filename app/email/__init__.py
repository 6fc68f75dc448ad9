"""Outbound email: render (templates/email/<kind>/), compose, queue idempotently, deliver."""
from .outbox import deliver, dispatch, queue_message, queue_messages, sendable
from .render import Rendered, render_email

__all__ = ["deliver", "dispatch", "queue_message", "queue_messages", "sendable", "render_email", "Rendered"]
