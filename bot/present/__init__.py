"""Presentation: core results as text for terminals, check runs and pull-request comments."""
