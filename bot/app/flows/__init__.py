"""Flows: one module per sequence the App performs (check, command, publish, promote, feedback)."""
