"""Outbound email: render (templates/email/<kind>/), compose, queue idempotently, deliver."""
from .outbox import deliver, queue_message, queue_messages
from .render import Rendered, render_email

__all__ = ["deliver", "queue_message", "queue_messages", "render_email", "Rendered"]
