"""`/pledge preview [env]` and the Preview button: the full rendered manifests, one <details> per file."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.app.flows.job import Job
from bot.core.authorization import Refused
from bot.core.build import Build, render_requests
from bot.core.catalog import load_catalog
from bot.core.paths import REQUESTS, is_request
from bot.core.platform import ConfigError, load_config
from bot.core.report import ERROR
from bot.core.tree import Tree
from bot.core.validate import load_requests
from bot.present.checkrun import COMMENT_BUDGET

PREVIEW_MARKER = "<!-- pledge:preview -->"
_TICKS = re.compile(r"`{3,}")


def run(job: Job, env: str | None) -> None:
    """Fetch the PR's head, render its changed requests with the base branch's catalog, post one new comment."""
    pull = job.pull
    trees = job.ctx.mirror.pull_request(job.repo, job.inst.token(), job.number, pull.base_ref, pull.head_sha)
    if trees is None:
        raise Refused(f"the head commit {pull.head_sha[:12]} is gone from this pull request; try again")
    try:
        paths = [c.path for c in trees.changed
                 if c.status != "D" and is_request(c.path)]
        if env is not None:
            paths = [p for p in paths if p.split("/")[1:2] == [env]]
        if not paths:
            where = f" in {env}" if env else ""
            raise Refused(f"this pull request adds or changes no request{where}, so there is nothing to preview")
        body = render_preview(trees.base, trees.head, paths, head_sha=trees.head_sha, env=env)
    finally:
        trees.close()
    job.inst.comment(job.repo, job.number, body)


def render_preview(base: Tree, head: Tree, paths: Sequence[str], *, head_sha: str, env: str | None,
                   budget: int = COMMENT_BUDGET) -> str:
    """The comment: every rendered file of `paths` in its own collapsible section. Sections are never split:
    once the next one would pass `budget` characters the rest are listed by name (GitHub's limit is 65,536)."""
    try:
        config = load_config(base)
    except ConfigError as exc:
        raise Refused(f"pledge.yaml on the base branch is broken ({exc.message}); see the pledge check") from None
    catalog = load_catalog(base, bundled=config.bundled_catalog)
    symlinks = {e.path for e in head.files(REQUESTS) if e.is_symlink}
    requests, findings = load_requests(head, catalog, config, [(p, p in symlinks) for p in paths])
    build = Build()
    files = render_requests(requests, config, catalog, build)
    failed = sorted({f.path for f in [*findings, *build.findings] if f.severity == ERROR and f.path in paths})
    where = f" in {env}" if env else ""
    head_lines = [PREVIEW_MARKER, f"### Pledge preview{where}: {len(files)} rendered file"
                  f"{'' if len(files) == 1 else 's'} for commit `{head_sha[:12]}`", ""]
    if failed:
        head_lines += ["Not rendered (errors, see the **pledge** check): " + ", ".join(f"`{p}`" for p in failed), ""]
    out = "\n".join(head_lines) + "\n"
    shown = 0
    names = sorted(files)
    reserve = 300 + sum(len(n) + 6 for n in names)  # room for the note that lists what did not fit
    for path in names:
        section = _section(path, files[path].decode("utf-8", "replace"))
        if len(out) + len(section) > budget - min(reserve, budget // 4):
            break
        out += section
        shown += 1
    rest = names[shown:]
    if rest:
        note = (f"\n*{len(rest)} more file{'' if len(rest) == 1 else 's'} did not fit in one comment (GitHub allows "
                "65,536 characters); run `pledge render` locally or preview one environment:* ")
        listed = ""
        for name in rest:
            item = f"`{name}` "
            if len(out) + len(note) + len(listed) + len(item) > budget:
                listed += "…"
                break
            listed += item
        out += note + listed.rstrip() + "\n"
    return out


def _section(path: str, text: str) -> str:
    """One file as a <details> block; the fence is longer than any backtick run inside, so nothing escapes it."""
    longest = max((len(m.group(0)) for m in _TICKS.finditer(text)), default=2)
    fence = "`" * max(3, longest + 1)
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    safe = path.replace("<", "&lt;").replace(">", "&gt;")
    return (f"<details><summary><code>{safe}</code> ({lines} line{'' if lines == 1 else 's'})</summary>\n\n"
            f"{fence}yaml\n{body}{fence}\n\n</details>\n")
