"""Publishing as Markdown for the merged pull request: where its render went, per environment."""

from __future__ import annotations

from bot.core.publish import PublishResult


def summary(result: PublishResult, commit_url: str | None = None, limit: int = 15) -> str:
    """Markdown for the merged PR: where its render went, and the paths written per environment."""
    sha = result.commit or result.base
    link = f"[`{sha[:12]}`]({commit_url})" if commit_url else f"`{sha[:12]}`"
    head = {
        "pushed": f"Pledge published this merge to `{result.branch}` in {link}; Flux applies it next.",
        "up-to-date": f"Nothing new to publish: `{result.branch}` at {link} already holds this render.",
        "render-pr": (f"`{result.branch}` is protected, so Pledge pushed the render to `{result.render_branch}` "
                      f"({link}). It is live once that pull request (label `{result.label}`) is merged."),
    }[result.status]
    lines = [head]
    for env in sorted(result.written.keys() | result.removed.keys()):
        paths = [f"`{p}`" for p in result.written.get(env, [])] + [f"~~`{p}`~~" for p in result.removed.get(env, [])]
        more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
        lines.append(f"- **{env}**: {', '.join(paths[:limit])}{more}")
    errors = [f for f in result.findings if f.severity == "error"]
    if errors:
        lines.append(f"\n{len(errors)} error(s) kept some requests from rendering; first: "
                     f"`{errors[0].path}`: {errors[0].message}")
    return "\n".join(lines) + "\n"
