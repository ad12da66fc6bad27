"""The `pledge` command line: validate, render, check, policy scan, schemas and the GitHub App server."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from bot.core.build import check_report, render_full, render_incremental
from bot.core.catalog import load_catalog
from bot.core.layout import Plan, owned
from bot.core.platform import ConfigError, load_config
from bot.core.report import ERROR, Conclusion, Report
from bot.core.tree import DirTree
from bot.core.validate import validate_tree
from bot.present import terminal as output

FORMATS = click.Choice(["text", "json", "github"])
repo_option = click.option("--repo", "repo", type=click.Path(file_okay=False, path_type=Path), default=".",
                           show_default=True, help="The platform repository's folder.")
format_option = click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)


def _fail(message: str) -> NoReturn:
    click.echo(f"pledge: {message}", err=True)
    sys.exit(2)


def _emit(report: Report, fmt: str, read: Callable[[str], bytes | None]) -> NoReturn:
    if fmt == "json":
        click.echo(output.as_json(report), nl=False)
    elif fmt == "github":
        click.echo(output.github(report), nl=False)
    else:
        colour = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        click.echo(output.text(report, read, colour=colour), nl=False)
    sys.exit(1 if report.conclusion == Conclusion.FAILURE else 0)


def _repo(path: Path) -> DirTree:
    if not path.is_dir():
        _fail(f"{path}: no such folder")
    return DirTree(path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pledge")
def main() -> None:
    """Pledge: requests in, validated Kubernetes manifests out. Exit 0 ok, 1 findings, 2 usage."""


@main.command()
@repo_option
@format_option
@click.argument("paths", nargs=-1)
def validate(repo: Path, fmt: str, paths: tuple[str, ...]) -> None:
    """Validate requests (all, or PATHS under the repo) against the catalog and pledge.yaml."""
    tree = _repo(repo)
    rel = [_relative(repo, p) for p in paths]
    for given, r in zip(paths, rel, strict=True):
        if not os.path.lexists(repo / r):  # a typo must not pass as "nothing wrong"
            _fail(f"{given} does not exist in the repository {repo} (as {r})")
    try:
        report = validate_tree(tree, rel or None)
    except ConfigError as exc:
        _fail(str(exc))
    _emit(report, fmt, tree.read)


def _relative(repo: Path, path: str) -> str:
    p = Path(path)
    if p.is_absolute() or (Path.cwd() / p).exists():
        try:
            return (Path.cwd() / p).resolve().relative_to(repo.resolve()).as_posix()
        except ValueError:
            _fail(f"{path} is not inside the repository {repo}")
    return p.as_posix()


@main.command()
@repo_option
@format_option
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if the committed output differs.")
@click.option("--env", "env", default=None, help="Only this environment.")
def render(repo: Path, fmt: str, check_only: bool, env: str | None) -> None:
    """Render requests into environments/ and clusters/ (only what changed, unless --check)."""
    tree = _repo(repo)
    try:
        config = load_config(tree)
    except ConfigError as exc:
        _fail(str(exc))
    if env is not None and config.env(env) is None:
        _fail(f"--env {env}: not in pledge.yaml (known: {', '.join(config.env_names)})")
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    if check_only:
        build = render_full(tree, config, catalog, env=env)
        _emit(check_report(build, tree), fmt, tree.read)
    build = render_incremental(tree, config, catalog, env=env)
    report = Report(findings=build.findings, judged=build.rendered)
    if report.count(ERROR):  # an invalid or misplaced request: a partial render could prune live output
        report.notes.append(f"nothing written: fix the {report.count(ERROR)} error(s) above and render again")
        _emit(report, fmt, tree.read)
    _apply(repo, build.plan)
    written = sum(1 for v in build.plan.values() if v is not None)
    removed = len(build.plan) - written
    report.notes.append(f"rendered {len(build.rendered)} request(s), {build.kept} unchanged; "
                        f"{written} file(s) written, {removed} removed")
    _emit(report, fmt, tree.read)


def _apply(root: Path, plan: Plan) -> None:
    """Write the plan under root; only paths Pledge owns, never outside environments/ and clusters/."""
    base = root.resolve()
    for path, data in sorted(plan.items()):
        target = (root / path).resolve()
        parts = path.split("/")
        links = [p for i in range(1, len(parts) + 1) if (p := root.joinpath(*parts[:i])).is_symlink()]
        if not owned(path) or base not in target.parents or ".." in parts or links:
            _fail(f"refusing to write {path}: outside environments/ and clusters/ or through a symlink")
        if data is None:
            target.unlink(missing_ok=True)
            parent = target.parent
            while parent != base and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


@main.command()
@repo_option
@format_option
@click.option("--base", "base", required=True, help="The pull request's base (target) ref.")
@click.option("--head", "head", default="HEAD", show_default=True, help="The pull request's head ref.")
def check(repo: Path, fmt: str, base: str, head: str) -> None:
    """What the bot says on a pull request from BASE to HEAD of a local git repository."""
    from git import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

    from bot.adapters.git.tree import GitTree, changed_files
    from bot.core.check import check as run_check

    try:
        base_tree, head_tree = GitTree(repo, base), GitTree(repo, head)
        changes = changed_files(base_tree.repo, base_tree.sha, head_tree.sha)
    except (InvalidGitRepositoryError, NoSuchPathError):
        _fail(f"{repo} is not a git repository")
    except GitCommandError as exc:
        _fail(f"git could not resolve --base {base} / --head {head}: {exc.stderr.strip()}")
    report = run_check(base_tree, head_tree, changes)
    _emit(report, fmt, head_tree.read)


@main.command()
@repo_option
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write one JSON Schema per offering version here (default: list them).")
def schemas(repo: Path, out: Path | None) -> None:
    """Publish each offering version's request schema for editors (yaml-language-server)."""
    from bot.core.schemas import export

    tree = _repo(repo)
    try:
        bundled = load_config(tree).bundled_catalog
    except ConfigError:
        bundled = True
    files = export(load_catalog(tree, bundled=bundled))
    for name, data in files.items():
        if out is None:
            click.echo(name)
            continue
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    if out is not None:
        click.echo(f"wrote {len(files)} schema(s) to {out}")


@main.group()
def policy() -> None:
    """kyverno-json compatible policy tools."""


@policy.command("scan")
@click.option("--policy", "policies", multiple=True, required=True, type=click.Path(exists=True),
              help="A policy file or folder (repeatable).")
@click.option("--payload", "payload", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--pre-process", "preprocess", multiple=True, help="JMESPath applied to the payload first.")
@click.option("--bindings", "bindings", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--output", "out", type=click.Choice(["text", "json"]), default="text", show_default=True)
def policy_scan(policies: tuple[str, ...], payload: str, preprocess: tuple[str, ...],
                bindings: str | None, out: str) -> None:
    """Drop-in for `kyverno-json scan`: evaluate policies on a JSON or YAML payload."""
    from bot.core import policy as engine

    try:
        loaded = engine.load_policy_paths(list(policies))
        data = _read_payload(Path(payload))
        binds = _read_payload(Path(bindings)) if bindings else {}
        if not isinstance(binds, dict):
            _fail(f"{bindings}: bindings must be a mapping")
        resources = len(engine.scan_resources(data, list(preprocess)))
        results = engine.scan(loaded, data, preprocess=list(preprocess), bindings=binds)
    except engine.PolicyLoadError as exc:
        _fail(str(exc))
    except ValueError as exc:
        _fail(str(exc))
    if out == "json":
        click.echo(engine.format_json(results))
    else:
        click.echo(engine.format_text(results, policies=loaded, resources=resources,
                                      bindings=binds if bindings else None), nl=False)


def _read_payload(path: Path) -> Any:
    """A JSON or YAML payload read the way kyverno-json reads it (several YAML documents make a list)."""
    from bot.core.policy import load_payload

    try:
        data = load_payload(path.read_text(encoding="utf-8"), str(path))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    if data is None:
        raise ValueError(f"{path}: the payload is empty")
    return data


@main.command()
@click.option("--data-dir", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("PLEDGE_DATA_DIR", "."), show_default="$PLEDGE_DATA_DIR or .",
              help="The app's data folder (history/<owner>/<repo>/ below it), or a history folder itself.")
@click.option("--repo-name", "repo_name", default=None, help="owner/repo, when --data-dir is the app's data folder.")
@click.option("--request", "request_path", default=None, help="Only this request path.")
@click.option("--pr", "pr", type=int, default=None, help="Only this pull request.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def history(data_dir: Path, repo_name: str | None, request_path: str | None, pr: int | None, fmt: str) -> None:
    """When each request was opened, checked, merged, rendered and applied: time to value."""
    from bot.adapters.store.history import DB_NAME, format_history, history_rows

    folder = data_dir / "history" / repo_name if repo_name else data_dir
    db = folder / DB_NAME
    if not db.is_file():
        _fail(f"no history at {db}; give --data-dir (and --repo-name owner/repo)")
    rows = history_rows(db, request=request_path, pr=pr)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
    else:
        click.echo(format_history(rows), nl=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the GitHub App locally (web server and an in-process worker). Production: see README."""
    from bot.app.serve import serve as run
    from bot.app.settings import SettingsError

    try:
        run(host, port)
    except SettingsError as exc:
        _fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
