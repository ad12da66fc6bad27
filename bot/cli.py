"""The `pledge` command line: validate, render, check, policy scan, schemas and the GitHub App server."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from bot.core import lifecycle
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
    try:  # the lifecycle clock ($PLEDGE_TODAY): a bad value is a usage error before anything runs
        lifecycle.today()
    except ValueError as exc:
        _fail(str(exc))


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


def _apply(root: Path, plan: Plan, allowed: Callable[[str], bool] = owned) -> None:
    """Write the plan under root; only paths Pledge owns (`allowed`), never through a symlink."""
    base = root.resolve()
    for path, data in sorted(plan.items()):
        target = (root / path).resolve()
        parts = path.split("/")
        links = [p for i in range(1, len(parts) + 1) if (p := root.joinpath(*parts[:i])).is_symlink()]
        if not allowed(path) or base not in target.parents or ".." in parts or links:
            _fail(f"refusing to write {path}: not a path this command writes, or through a symlink")
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
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--offering", "offering", default=None, help="Only requests of this offering (e.g. postgres).")
@click.option("--to", "to", default=None, help="Target version (e.g. v2); default: the end of each successor chain.")
@click.option("--env", "env", default=None, help="Only this environment.")
@click.option("--team", "team", default=None, help="Only this team.")
@click.option("--check", "check_only", is_flag=True, help="Write nothing; show the diffs; exit 1 if any would change.")
def upgrade(repo: Path, fmt: str, offering: str | None, to: str | None, env: str | None, team: str | None,
            check_only: bool) -> None:
    """Rewrite requests on an older offering version with the catalog's declarative migrations."""
    from bot.core.upgrade import plan_upgrade
    from bot.present import upgrade as shown

    tree = _repo(repo)
    try:
        config = load_config(tree)
    except ConfigError as exc:
        _fail(str(exc))
    catalog = load_catalog(tree, bundled=config.bundled_catalog)
    names = sorted({o.name for o in catalog.offerings.values()})
    if offering is not None and offering not in names:
        _fail(f"--offering {offering}: no such offering (known: {', '.join(names)})")
    if env is not None and config.env(env) is None:
        _fail(f"--env {env}: not in pledge.yaml (known: {', '.join(config.env_names)})")
    if team is not None and not config.knows_team(team):
        _fail(f"--team {team}: not in pledge.yaml")
    plan = plan_upgrade(tree, offering=offering, to=to, env=env, team=team)
    if not check_only:
        _apply(repo, {u.path: u.after for u in plan.files}, allowed=lambda p: p.startswith("requests/"))
    click.echo((shown.as_json if fmt == "json" else shown.text)(plan, check=check_only), nl=False)
    failed = any(f.severity == "error" for f in plan.findings) or (check_only and plan.files)
    sys.exit(1 if failed else 0)


@main.command()
@repo_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
def inventory(repo: Path, fmt: str) -> None:
    """Every request: offering, version, lifecycle, env, team, labels, age and last change (from git)."""
    from bot.adapters.git.history import request_history
    from bot.core.inventory import inventory as take
    from bot.present import inventory as shown

    tree = _repo(repo)
    try:
        result = take(tree, history=request_history(repo))
    except ConfigError as exc:
        _fail(str(exc))
    click.echo({"json": shown.as_json, "csv": shown.as_csv}.get(fmt, shown.text)(result), nl=False)


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


@main.group()
def app() -> None:
    """Create the GitHub App from its manifest, and check a running setup (see docs/deploy.md)."""


url_option = click.option("--url", "url", required=True,
                          help="Where Pledge is reachable (https://pledge.example.com); the webhook is <url>/webhook.")
name_option = click.option("--name", "name", default="pledge", show_default=True,
                           help="The App's name (its slug is derived from it).")
org_option = click.option("--org", "org", default=None,
                         help="Create the App in this organisation (default: your account).")
homepage_option = click.option("--homepage", "homepage", default=None, help="The App's homepage (default: --url).")


@app.command("manifest")
@url_option
@name_option
@org_option
@homepage_option
@click.option("--redirect-url", "redirect_url", default=None,
              help="Where GitHub sends the browser with ?code= after creating the App.")
@click.option("--github-url", "github_url", default="https://github.com", show_default=True)
def app_manifest(url: str, name: str, org: str | None, homepage: str | None, redirect_url: str | None,
                 github_url: str) -> None:
    """Print the App manifest (GitHub's format): exactly the permissions and events Pledge needs."""
    from bot.app.manifest import manifest, new_app_url

    click.echo(json.dumps(manifest(url, name=name, homepage=homepage, redirect_url=redirect_url), indent=2))
    click.echo(f"post it as the form field `manifest` to {new_app_url(github_url, org)}", err=True)


@app.command("create")
@url_option
@name_option
@org_option
@homepage_option
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=".env.pledge",
              show_default=True, help="The env file to write (0600); the key goes beside it: <slug>.private-key.pem.")
@click.option("--port", "port", type=int, default=0, help="The local page's port on 127.0.0.1 (default: any free one).")
@click.option("--github-url", "github_url", default="https://github.com", show_default=True)
@click.option("--api-url", "api_url", default="https://api.github.com", show_default=True,
              help="REST base (GitHub Enterprise Server: https://HOST/api/v3).")
@click.option("--open/--no-open", "open_browser", default=True, help="Open the local page in a browser.")
@click.option("--timeout", "timeout", type=float, default=600, show_default=True, help="Seconds to wait for GitHub.")
def app_create(url: str, name: str, org: str | None, homepage: str | None, out: Path, port: int, github_url: str,
               api_url: str, open_browser: bool, timeout: float) -> None:
    """Create the GitHub App with GitHub's manifest flow and write its settings (never printed) to --out."""
    from bot.app.appcreate import ManifestFlow

    if out.exists():
        _fail(f"{out} exists: move it away or give --out")
    try:
        flow = ManifestFlow(url, out, name=name, org=org, port=port, github_url=github_url, api_url=api_url,
                            homepage=homepage)
    except OSError as exc:
        _fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}")
    click.echo(f"Open {flow.local_url} in a browser signed in to GitHub, and confirm the App's creation there.")
    if open_browser:
        import webbrowser

        webbrowser.open(flow.local_url)
    try:
        created = flow.run(timeout)
    except RuntimeError as exc:
        click.echo(f"pledge: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Created the App {created.slug} (id {created.app_id}) {created.html_url}")
    click.echo(f"Wrote {created.env_file} and {created.key_file} (mode 0600). Next: install the App on the "
               "platform repository, then `pledge doctor --repo owner/name` with these settings.")


@main.command()
@click.option("--repo", "repo", required=True, help="The platform repository, owner/name.")
@click.option("--url", "url", default=None, help="Where Pledge is reachable: the webhook must be <url>/webhook.")
def doctor(repo: str, url: str | None) -> None:
    """Check the App's setup from its PLEDGE_* settings, one line each. Exit 0 all good, 1 a problem, 2 usage."""
    from bot.app.doctor import diagnose
    from bot.app.settings import load_or_exit
    from bot.present.doctor import render

    if repo.count("/") != 1 or not all(repo.split("/")):
        _fail(f"--repo {repo}: give owner/name")
    checks = diagnose(load_or_exit(), repo, url=url)
    click.echo(render(checks), nl=False)
    sys.exit(0 if all(c.ok for c in checks) else 1)


if __name__ == "__main__":  # pragma: no cover
    main()
