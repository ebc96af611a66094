"""Notifications: the outbox and its senders (log, WeChat subscribe messages)."""
