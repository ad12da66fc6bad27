"""The path grammar of a platform repository: where requests, the catalog, pledge.yaml and rendered files live."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

REQUESTS = "requests"
CATALOG_DIRS = ("schemas", "policies", "renderers")
CONFIG_PATH = "pledge.yaml"
ENVIRONMENTS = "environments"
CLUSTERS = "clusters"
GENERATED = (ENVIRONMENTS, CLUSTERS)
# What an approval covers and what rendering reads: a change here invalidates earlier approvals.
INPUT_PREFIXES = (REQUESTS + "/", *(d + "/" for d in CATALOG_DIRS), CONFIG_PATH)


def top(path: str) -> str:
    """The first folder of a path (or the file name at the top)."""
    return path.split("/", 1)[0]


def is_ignored(path: str) -> bool:
    """Files under requests/ that are not requests: Markdown docs (README.md) and dotfiles (.gitkeep). Any other
    file is judged, so a request renamed to .txt or .json is flagged (request.extension), not silently dropped
    (which would prune its rendered output)."""
    base = path.rsplit("/", 1)[-1]
    return base.startswith(".") or base.lower().endswith(".md")


def is_request(path: str) -> bool:
    """A file under requests/ that Pledge reads as a request (wherever it lies; `place` judges the place)."""
    return path.startswith(REQUESTS + "/") and not is_ignored(path)


def request_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The request files among `paths`, sorted, each once."""
    return tuple(sorted({p for p in paths if is_request(p)}))


def request_env(path: str) -> str:
    """requests/<env>/<team>/<name>.yaml -> env ("" for a path with no environment folder)."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else ""


def is_catalog(path: str) -> bool:
    """A file of the repository's own catalog: schemas/, policies/ or renderers/."""
    return top(path) in CATALOG_DIRS


def is_generated(path: str) -> bool:
    """A file only Pledge writes: under environments/ or clusters/."""
    return top(path) in GENERATED


def is_input(path: str) -> bool:
    """A file rendering reads: a request, the catalog or pledge.yaml."""
    return is_request(path) or path == CONFIG_PATH or is_catalog(path)


def needs_render(paths: Iterable[str]) -> bool:
    """Whether a change touched anything rendering depends on (Pledge's own render commits change only
    environments/ and clusters/, so they never trigger another render)."""
    return any(is_input(p) for p in paths)


def is_relevant(path: str) -> bool:
    """A file whose change the check judges: an input of rendering or a rendered file."""
    return is_input(path) or is_generated(path)


def promotion_paths(paths: Collection[str], *, target: str, env_names: Sequence[str]) -> dict[str, str] | str:
    """For `/pledge promote <target>`: request path -> the same request in `target`, or the reply saying why not.
    All requests must come from the one environment that precedes `target` in pledge.yaml's order."""
    order = list(env_names)
    requests = sorted(p for p in paths if p.startswith("requests/") and p.count("/") == 3)
    sources = sorted({p.split("/")[1] for p in requests})
    if target not in order:
        return f"`{target}` is not an environment in pledge.yaml (environments: {', '.join(order)})"
    if len(sources) != 1 or sources[0] not in order:
        return ("promote needs the requests of exactly one environment; this pull request has: "
                + (", ".join(sources) or "none"))
    source = sources[0]
    at = order.index(source)
    if at + 1 == len(order):
        return f"{source} is the last environment; there is nothing to promote it to"
    if order[at + 1] != target:
        return f"requests in {source} are promoted to {order[at + 1]}, not to {target}"
    return {p: f"requests/{target}/{p.split('/', 2)[2]}" for p in requests}
