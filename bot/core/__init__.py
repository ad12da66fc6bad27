"""The pure core: model and decisions (YAML, catalog, requests, validation, rendering, checks, approvals)."""
