"""Inbound email: SMTP server, parsing, classification, trimming and commands."""
