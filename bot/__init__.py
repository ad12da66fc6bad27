"""Pledge: a GitOps pull-request bot that turns request files into validated Kubernetes manifests."""

__version__ = "0.1.0"
