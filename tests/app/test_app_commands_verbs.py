"""preview, promote and the check-run buttons, through the real handler, the fake GitHub and a real git remote."""

from __future__ import annotations

import re

from bot.app.flows.preview import render_preview
from bot.core.tree import MemoryTree
from tests.app.apptest import PLATFORM, Bot
from tests.app.commandtest import AUTHOR, DEV, PROD, REPO, cache, click, latest_run, open_pr, replies, say, with_rules
from tests.github.fake_git_remote import GitRemote, git

SEARCH = "requests/dev/search/index.yaml"


def test_preview_posts_every_rendered_file_in_details(bot: Bot, remote: GitRemote) -> None:
    index = cache(4).replace("payments", "search").replace("orders", "index")
    sha = open_pr(bot, remote, {DEV: cache(3), SEARCH: index})
    c, ops = say(bot, "/pledge preview", user=AUTHOR)
    assert ops == ["pulls/get", "reactions/create-for-issue-comment", "issues/create-comment",
                   "reactions/create-for-issue-comment"]
    (text,) = replies(bot)
    assert f"for commit `{sha[:12]}`" in text
    assert text.count("<details>") == text.count("</details>") == 4  # a ConfigMap and a kustomization each
    assert "environments/dev/payments/cache-orders/configmap-cache-orders.yaml" in text
    assert "data:\n  size: '3'\n  description: ''\n  env: dev\n```" in text  # the whole manifest, fenced
    assert "<code>environments/search/" not in text and "environments/dev/search/cache-index" in text
    assert bot.fake.reactions_on(c.id) == ["eyes", "rocket"]


def test_preview_of_an_environment_without_requests_is_refused(bot: Bot, remote: GitRemote) -> None:
    open_pr(bot, remote, {DEV: cache(3)})
    c, _ = say(bot, "/pledge preview prod", user=AUTHOR)
    assert replies(bot) == ["@dave: this pull request adds or changes no request in prod, so there is nothing to "
                            "preview"]
    assert bot.fake.reactions_on(c.id) == ["eyes", "confused"]


def test_a_large_preview_is_cut_between_sections_below_the_limit() -> None:
    platform = {name: (PLATFORM / name).read_text()
                for name in ("pledge.yaml", "schemas/cache/v1.yaml", "renderers/cache/v1/configmap.yaml.j2")}
    base = MemoryTree(platform)
    big = "x" * 2000
    files = {f"requests/dev/payments/c{i:03d}.yaml": cache(3).replace("orders", f"c{i:03d}").replace(
        "size: 3", f"size: 3\n  description: {big}") for i in range(60)}
    head = MemoryTree({**platform, **files})
    text = render_preview(base, head, sorted(files), head_sha="a" * 40, env=None)
    assert len(text) <= 60000
    assert text.count("<details>") == text.count("</details>") > 10
    shown = text.count("<details>")
    assert re.search(rf"\*{120 - shown} more files did not fit in one comment", text)
    assert text.count("```") % 2 == 0


def test_promote_copies_the_requests_to_the_next_environment(bot: Bot, remote: GitRemote) -> None:
    with_rules(remote)
    sha = open_pr(bot, remote, {DEV: cache(3)})
    c, ops = say(bot, "/pledge promote prod", user=AUTHOR)
    assert ops == ["pulls/get", "reactions/create-for-issue-comment", "pulls/create", "pulls/request-reviewers",
                   "issues/create-comment", "reactions/create-for-issue-comment"]
    branch = "pledge/promote-7-prod"
    pushed = git(remote.bare, "show", f"{branch}:{PROD}")
    assert pushed == git(remote.bare, "show", f"{sha}:{DEV}")
    assert git(remote.bare, "rev-parse", f"{branch}^") == remote.base_sha()
    new = next(pr for (r, n), pr in bot.fake.pulls.items() if pr.get("head_ref") == branch)
    assert new["title"] == "Promote #7 to prod" and new["base_ref"] == "main"
    number = next(n for (r, n), pr in bot.fake.pulls.items() if pr is new)
    assert bot.fake.review_requests[(REPO, number)] == [AUTHOR]
    assert replies(bot) == [f"Opened #{number}: 1 request promoted to prod, review requested from @dave."]
    assert bot.fake.reactions_on(c.id) == ["eyes", "rocket"]


def test_promote_runs_on_a_merged_pull_request(bot: Bot, remote: GitRemote) -> None:
    open_pr(bot, remote, {DEV: cache(3)})
    c, _ = say(bot, "/pledge promote prod", user=AUTHOR, state="closed", merged=True)
    assert replies(bot)[-1].startswith("Opened #")
    assert bot.fake.reactions_on(c.id) == ["eyes", "rocket"]


def test_promote_refusals(bot: Bot, remote: GitRemote) -> None:
    open_pr(bot, remote, {DEV: cache(3)})
    say(bot, "/pledge promote staging", user=AUTHOR)
    assert replies(bot)[-1] == "@dave: `staging` is not an environment in pledge.yaml (environments: dev, prod)"
    say(bot, "/pledge promote prod", user=AUTHOR)
    c, _ = say(bot, "/pledge promote prod", user=AUTHOR)  # the branch exists now: never overwritten
    assert replies(bot)[-1] == ("@dave: the branch `pledge/promote-7-prod` already exists; merge or delete it, "
                                "then promote again")
    assert bot.fake.reactions_on(c.id) == ["eyes", "confused"]
    assert sum(1 for pr in bot.fake.pulls.values() if pr.get("head_ref")) == 1


def test_promote_from_the_last_environment_is_refused(bot: Bot, remote: GitRemote) -> None:
    with_rules(remote)
    open_pr(bot, remote, {PROD: cache(3)})
    say(bot, "/pledge promote prod", user=AUTHOR)
    assert replies(bot)[-1] == "@dave: prod is the last environment; there is nothing to promote it to"


def test_rerun_button_checks_again(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {DEV: cache(3)})
    ops = click(bot, "rerun", sha, user=AUTHOR)
    assert ops == ["pulls/get", "checks/create", "checks/update", "issues/update-comment"]
    assert len(bot.fake.runs_for(sha)) == 2 and latest_run(bot, sha)["conclusion"] == "success"


def test_preview_button_posts_the_preview(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {DEV: cache(3)})
    bot.fake.set_role(REPO, "bob", "write")
    ops = click(bot, "preview", sha, user="bob")
    assert ops == ["pulls/get", "repos/get-collaborator-permission-level", "issues/create-comment"]
    assert "<details>" in replies(bot)[-1]


def test_button_by_a_reader_is_refused_in_one_line(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {DEV: cache(3)})
    ops = click(bot, "rerun", sha, user="mallory")
    assert ops == ["pulls/get", "repos/get-collaborator-permission-level", "issues/create-comment"]
    assert replies(bot) == ["@mallory: only the pull request's author or people with write access can run "
                            "`/pledge check`"]
    assert len(bot.fake.runs_for(sha)) == 1


def test_unknown_button_does_nothing(bot: Bot, remote: GitRemote) -> None:
    sha = open_pr(bot, remote, {DEV: cache(3)})
    assert click(bot, "self-destruct", sha, user=AUTHOR) == []
