"""Pledge's GitHub App: webhook intake, durable queue, check runs and one sticky comment (adapters only)."""
