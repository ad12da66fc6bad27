"""Durable state: the delivery journal, the audit trail and the history."""
