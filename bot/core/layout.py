"""The rendered tree: environments/ folders with their kustomizations, and Flux objects in clusters/."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bot.core.flux import flux_feedback_files
from bot.core.paths import CLUSTERS, ENVIRONMENTS, GENERATED
from bot.core.platform import PlatformConfig
from bot.core.render import Rendered, dump
from bot.core.tree import Tree

SOURCE_NAME = "pledge-platform"
FLUX_NAMESPACE = "flux-system"
_HEADER = re.compile(rb"^# pledge-source: (?P<path>\S+) (?P<digest>sha256:[0-9a-f]{64})$", re.M)

INDEX_HEADER = "# Written by Pledge. Do not edit.\n"

Plan = dict[str, bytes | None]  # path -> new bytes, or None to delete

# Part of every rendered folder's digest: bump it when Pledge renders the same input differently, never for
# a release that does not (the release version comes from git tags and is not hashed anywhere).
RENDER_FORMAT = "0.1.0"


def source_digest(raw: bytes, catalog_digest: str, config: PlatformConfig) -> str:
    """What a request's rendered folder depends on: its bytes, the catalog, pledge.yaml, Pledge itself."""
    h = _digest_prefix(catalog_digest, config.source).copy()
    h.update(hashlib.sha256(raw).digest())
    return "sha256:" + h.hexdigest()


@functools.lru_cache(maxsize=8)
def _digest_prefix(catalog_digest: str, config_source: bytes) -> Any:
    h = hashlib.sha256()
    for part in (RENDER_FORMAT.encode(), catalog_digest.encode(), config_source):
        h.update(hashlib.sha256(part).digest())
    return h


def kustomization(resources: Iterable[str], header: str = "") -> bytes:
    body = dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(resources),
    })
    return header.encode() + body


def request_files(rendered: Rendered, digest: str) -> dict[str, bytes]:
    """The request's object files plus its kustomization, which records the source and its digest."""
    folder = rendered.request.folder
    names = [p.rsplit("/", 1)[1] for p in rendered.files]
    header = (f"# Rendered by Pledge from {rendered.request.path}. Do not edit: change the request.\n"
              f"# pledge-source: {rendered.request.path} {digest}\n")
    return {**rendered.files, f"{folder}/kustomization.yaml": kustomization(names, header)}


def read_header(data: bytes | None) -> tuple[str, str] | None:
    """(source path, digest) recorded in a rendered folder's kustomization.yaml."""
    match = _HEADER.search(data or b"")
    return (match["path"].decode(), match["digest"].decode()) if match else None


def index_files(folders: Iterable[str], config: PlatformConfig) -> dict[str, bytes]:
    """kustomization.yaml for each environment and team folder, and the Flux objects per environment."""
    teams: dict[str, set[str]] = {e.name: set() for e in config.environments}
    dirs: dict[tuple[str, str], set[str]] = {}
    for folder in folders:
        _, env, team, name = folder.split("/")
        teams.setdefault(env, set()).add(team)
        dirs.setdefault((env, team), set()).add(name)
    out: dict[str, bytes] = {}
    for env, env_teams in teams.items():
        out[f"{ENVIRONMENTS}/{env}/kustomization.yaml"] = kustomization(env_teams, INDEX_HEADER)
        for team in env_teams:
            out[f"{ENVIRONMENTS}/{env}/{team}/kustomization.yaml"] = kustomization(dirs[(env, team)], INDEX_HEADER)
    for environment in config.environments:
        out.update(flux_files(environment.name, environment.interval, config))
    return out


def flux_files(env: str, interval: str, config: PlatformConfig) -> dict[str, bytes]:
    """Flux GitRepository and Kustomization (prune: true) that apply environments/<env>."""
    header = b"# Written by Pledge from pledge.yaml. Do not edit.\n"
    source = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": SOURCE_NAME, "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": "1m",
            "url": config.repository_url,
            "ref": {"branch": config.branch},
            "ignore": f"/*\n!/{ENVIRONMENTS}/{env}/\n",
        },
    }
    apply = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": f"pledge-{env}", "namespace": FLUX_NAMESPACE},
        "spec": {
            "interval": interval,
            "retryInterval": "2m",
            "timeout": "5m",
            "path": f"./{ENVIRONMENTS}/{env}",
            "prune": True,
            "wait": True,
            "sourceRef": {"kind": "GitRepository", "name": SOURCE_NAME},
        },
    }
    files = {
        f"{CLUSTERS}/{env}/pledge-source.yaml": header + dump(source),
        f"{CLUSTERS}/{env}/pledge-environment.yaml": header + dump(apply),
    }
    if config.feedback:  # Flux tells Pledge when the environment applied (or failed): see docs/publishing.md
        files.update(flux_feedback_files(env, config.feedback["url"], config.feedback["secretName"]))
    return files


def current_files(tree: Tree) -> dict[str, bytes]:
    """What is committed under environments/ and clusters/ (files Pledge owns there)."""
    out: dict[str, bytes] = {}
    for prefix in GENERATED:
        for entry in tree.files(prefix):
            data = tree.read(entry.path)
            out[entry.path] = data if data is not None else b""
    return out


def owned(path: str) -> bool:
    """Files under clusters/ that Pledge writes; other files there (flux-system/) are not ours."""
    if path.startswith(CLUSTERS + "/"):
        return path.rsplit("/", 1)[-1].startswith("pledge-")
    return path.startswith(ENVIRONMENTS + "/")


def diff_plan(current: Mapping[str, bytes], wanted: Mapping[str, bytes]) -> Plan:
    """Writes and deletes that turn `current` (only files Pledge owns) into `wanted`."""
    plan: Plan = {p: b for p, b in wanted.items() if current.get(p) != b}
    plan.update({p: None for p in current if owned(p) and p not in wanted})
    return plan
