"""Pledge: a GitOps pull-request bot that turns request files into validated Kubernetes manifests."""

