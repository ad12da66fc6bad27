"""Adapters to the outside world: git, GitHub REST and the durable store."""
