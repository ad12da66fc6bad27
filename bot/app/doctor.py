"""`pledge doctor`: checks the App key, webhook, deliveries, installations, permissions, branch rules and queue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from bot.adapters.errors import GitHubError
from bot.adapters.github.appapi import UNREACHABLE, AppAPI, repo_path
from bot.app.manifest import PERMISSIONS, events, missing_events, missing_permissions
from bot.app.settings import Settings
from bot.present.doctor import Check

PROTECTION_DOC = "docs/app.md#branch-protection-require-the-pledge-check"
DELIVERY_HINTS = {
    401: "the webhook secret differs from PLEDGE_WEBHOOK_SECRET",
    404: "the webhook URL does not reach Pledge's /webhook",
    413: "a delivery over 25 MB",
    502: "Pledge was down or unreachable behind the Ingress",
    503: "Pledge was down or its queue unreachable",
    504: "Pledge did not answer in time",
}


def _perms(perms: dict[str, str]) -> str:
    return ", ".join(f"{k}:{v}" for k, v in perms.items())


def _refused(exc: GitHubError, settings: Settings) -> str:
    if exc.status == UNREACHABLE:
        return f"cannot reach {settings.github_api_url} (PLEDGE_GITHUB_API_URL): {exc.data}"
    message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
    return f"GitHub answered {exc.status} ({message})"


def diagnose(settings: Settings, repo: str, *, url: str | None = None) -> list[Check]:
    """Every check, in order; GitHub checks after a refused key are left out (they cannot run)."""
    checks = list(_github(settings, repo, url))
    checks.append(_queue(settings))
    return checks


def _github(settings: Settings, repo: str, url: str | None) -> Iterator[Check]:
    api = AppAPI(settings.app_id, settings.private_key, settings.github_api_url)
    try:
        app: dict[str, Any] = api.app_get("the App", "/app")
    except GitHubError as exc:
        fix = ("PLEDGE_APP_ID and the private key must belong to the same App: check the App ID, or generate "
               "a new private key on the App's settings page" if exc.status == 401 else "check PLEDGE_GITHUB_API_URL")
        yield Check(False, "App key and id", f"GET /app with the JWT of App {settings.app_id}: "
                    f"{_refused(exc, settings)}; {fix}")
        return
    yield Check(True, "App key and id", f"GET /app with the JWT works: App {app.get('id')} `{app.get('slug')}`")
    slug = str(app.get("slug") or "")
    yield (Check(True, "App slug", f"PLEDGE_APP_SLUG is `{slug}`") if slug == settings.app_slug else
           Check(False, "App slug", f"PLEDGE_APP_SLUG is `{settings.app_slug}` but the App's slug is `{slug}`: "
                 f"set PLEDGE_APP_SLUG={slug} (or `@{slug} approve` is not recognised)"))
    yield _permissions(app)
    yield _events(app)
    yield from _webhook(api, settings, url)
    yield from _installations(api, settings, repo)


def _permissions(app: dict[str, Any]) -> Check:
    granted = dict(app.get("permissions") or {})
    missing = missing_permissions(granted)
    if missing:
        return Check(False, "permissions", f"the App lacks {_perms(missing)}: App settings → Permissions & events, "
                     "then accept the new permissions in each installation")
    extra = sorted(set(granted) - set(PERMISSIONS))
    more = f" (not needed, remove: {', '.join(extra)})" if extra else ""
    return Check(True, "permissions", f"{_perms({k: granted[k] for k in PERMISSIONS})}{more}")


def _events(app: dict[str, Any]) -> Check:
    subscribed = list(app.get("events") or [])
    missing = missing_events(subscribed)
    if missing:
        return Check(False, "events", f"not subscribed to {', '.join(missing)}: App settings → Permissions & "
                     "events → Subscribe to events")
    return Check(True, "events", ", ".join(events()))


def _webhook(api: AppAPI, settings: Settings, url: str | None) -> Iterator[Check]:
    try:
        config = api.app_get("webhook config", "/app/hook/config")
    except GitHubError as exc:
        yield Check(False, "webhook", f"GET /app/hook/config: {_refused(exc, settings)}")
        return
    hook_url, content_type = str(config.get("url") or ""), str(config.get("content_type") or "")
    want = url.rstrip("/") + "/webhook" if url else None
    problems = []
    if want and hook_url != want:
        problems.append(f"set the Webhook URL to {want}")
    elif not want and not (hook_url.startswith("https://") and hook_url.endswith("/webhook")):
        problems.append("set the Webhook URL to https://<Pledge's host>/webhook")
    if content_type != "json":
        problems.append("set the content type to application/json")
    found = f"{hook_url or '(no URL)'}, content type {content_type or '(none)'}"
    if problems:
        yield Check(False, "webhook", f"{found}: {'; '.join(problems)} (App settings → Webhook)")
    else:
        yield Check(True, "webhook", f"{found}; its secret cannot be read back, so it is not compared "
                    "(a 401 below means it differs from PLEDGE_WEBHOOK_SECRET)")
    try:
        deliveries = api.app_get("webhook deliveries", "/app/hook/deliveries", {"per_page": 30})
    except GitHubError as exc:
        yield Check(False, "deliveries", f"GET /app/hook/deliveries: {_refused(exc, settings)}")
        return
    yield _deliveries(list(deliveries or []))


def _deliveries(deliveries: list[dict[str, Any]]) -> Check:
    if not deliveries:
        return Check(True, "deliveries", "none yet (GitHub sends a ping when the webhook is saved)")
    codes = [int(d.get("status_code") or 0) for d in deliveries]
    failed = Counter(c for c in codes if not 200 <= c < 300)
    if not failed:
        return Check(True, "deliveries", f"the last {len(codes)} were answered 2xx")
    counts = ", ".join(f"{code or 'no answer'} x{n}" for code, n in sorted(failed.items()))
    hints = "; ".join(f"{code}: {DELIVERY_HINTS[code]}" for code in sorted(failed) if code in DELIVERY_HINTS)
    return Check(False, "deliveries", f"{sum(failed.values())} of the last {len(codes)} failed ({counts})"
                 + (f": {hints}" if hints else "") + "; redeliver them from Recent Deliveries once fixed")


def _installations(api: AppAPI, settings: Settings, repo: str) -> Iterator[Check]:
    try:
        installs = list(api.app_get("installations", "/app/installations", {"per_page": 100}) or [])
    except GitHubError as exc:
        yield Check(False, "installations", f"GET /app/installations: {_refused(exc, settings)}")
        return
    if not installs:
        yield Check(False, "installations", "none: Install App → your organisation → the platform repository")
    else:
        names = ", ".join(f"{(i.get('account') or {}).get('login')} ({i.get('repository_selection')} repositories)"
                          for i in installs)
        yield Check(True, "installations", names)
    try:
        inst = api.app_get("repository installation", f"{repo_path(repo)}/installation")
    except GitHubError as exc:
        detail = ("the App is not installed on it: add it to the installation's Repository access"
                  if exc.status == 404 else f"GET /repos/{repo}/installation: {_refused(exc, settings)}")
        yield Check(False, f"repository {repo}", detail)
        return
    lacking = missing_permissions(dict(inst.get("permissions") or {}))
    if lacking:
        yield Check(False, f"repository {repo}", f"installation {inst['id']} has not accepted {_perms(lacking)}: "
                    "accept the new permissions in the account's settings → GitHub Apps → Configure")
    else:
        yield Check(True, f"repository {repo}", f"installation {inst['id']} can reach it")
    yield _protection(api, int(inst["id"]), settings, repo)


def _protection(api: AppAPI, installation_id: int, settings: Settings, repo: str) -> Check:
    name = settings.check_name
    try:
        branch = str(api.installation_get(installation_id, "repository", repo_path(repo))["default_branch"])
        rules = api.installation_get(installation_id, "branch rules", f"{repo_path(repo)}/rules/branches/{branch}")
    except GitHubError as exc:
        return Check(False, "branch protection", f"reading {repo}'s default branch rules: {_refused(exc, settings)}")
    subject = f"branch {branch}"
    required = [c.get("context") for r in rules or [] if r.get("type") == "required_status_checks"
                for c in (r.get("parameters") or {}).get("required_status_checks") or []]
    if name in required:
        return Check(True, subject, f"a ruleset requires the `{name}` check")
    try:
        classic = api.installation_get(installation_id, "required status checks",
                                       f"{repo_path(repo)}/branches/{branch}/protection/required_status_checks")
    except GitHubError as exc:
        if exc.status == 404:
            return Check(False, subject, f"not protected: add a ruleset (or branch protection) requiring the "
                         f"`{name}` check from this App ({PROTECTION_DOC})")
        return Check(False, subject, f"no ruleset requires `{name}` and classic protection cannot be read "
                     f"({_refused(exc, settings)}): check it in the repository's settings ({PROTECTION_DOC})")
    contexts = list(classic.get("contexts") or [])
    if name in contexts:
        return Check(True, subject, f"branch protection requires the `{name}` check")
    have = ", ".join(f"`{c}`" for c in contexts) or "none"
    return Check(False, subject, f"required checks are {have}, not `{name}`: add `{name}` ({PROTECTION_DOC})")


def _queue(settings: Settings) -> Check:
    from bot.app.queue import Queue

    where = settings.describe()["queue"]
    try:
        Queue.from_settings(settings).ping()
    except Exception as exc:  # any storage failure is the finding itself
        return Check(False, "queue", f"{where} is unreachable ({type(exc).__name__}: {exc}): start it or fix "
                     "PLEDGE_QUEUE")
    return Check(True, "queue", f"{where} answers")
