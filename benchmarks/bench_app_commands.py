"""GitHub REST calls per slash command, through the REAL App: signed delivery -> intake -> queue -> handler ->
the fake GitHub (every request validated against GitHub's OpenAPI description) and a real local git remote.

Budget (issue 5): `/pledge approve` by an authorized user that satisfies the rules <= 5 calls. Exits 1 when it
is exceeded or the fake saw a request GitHub would reject. Token fetches are not counted (cached for an hour).
Run: python benchmarks/bench_app_commands.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import responses  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

from bot.adapters.git.mirror import Mirror  # noqa: E402
from bot.app.context import Context  # noqa: E402
from bot.app.dispatch import Dispatcher  # noqa: E402
from bot.app.settings import Settings  # noqa: E402
from bot.app.web import create_app  # noqa: E402
from tests.app.apptest import PLATFORM, SECRET, Bot, make_github, make_queue  # noqa: E402
from tests.app.commandtest import AUTHOR, DEV, PROD, REPO, TEAM, cache, click, comment, open_pr, say, with_rules  # noqa: E402
from tests.github.fake_git_remote import GitRemote  # noqa: E402
from tests.github.fake_github import FakeGitHub  # noqa: E402

BUDGET = {"approve (team member, satisfies the rules)": 5}
Scenario = Callable[[Bot, GitRemote], list[str]]


def _key() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)


def run(name: str, scenario: Scenario, key: tuple[str, bytes]) -> tuple[list[str], list[str]]:
    """A fresh App, remote and prod PR (approval rules on the base branch); the scenario's REST operations."""
    tmp = Path(tempfile.mkdtemp(prefix="pledge-bench-commands-"))
    remote = GitRemote(tmp, PLATFORM)
    data = tmp / "data"
    data.mkdir()
    settings = Settings(webhook_secret=SECRET, app_id="4242", private_key=key[0], git_url=remote.url_template,
                        data_dir=data, queue_url=f"sqlite://{data / 'queue.db'}", github_throttle="off")
    fake = FakeGitHub(app_id=4242, public_key=key[1])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake.install(rsps)
        queue = make_queue(settings)
        ctx = Context(settings, make_github(settings), Mirror(data, settings.git_url), queue.journal)
        queue.processor = Dispatcher(ctx)
        bot = Bot(settings, queue, create_app(settings, queue).test_client(), ctx, fake)
        with_rules(remote)
        fake.add_team_member(TEAM, "carol")
        fake.set_role(REPO, "bob", "write")
        ops = scenario(bot, remote)
    return ops, fake.violations


def prod(bot: Bot, remote: GitRemote) -> str:
    return open_pr(bot, remote, {PROD: cache(3)})


def then(*setup: tuple[str, str], body: str, user: str, files: str = PROD, **kw: str) -> Scenario:
    """Open the PR, post the `setup` comments (body, user), then count the REST calls of one more comment."""
    def scenario(bot: Bot, remote: GitRemote) -> list[str]:
        open_pr(bot, remote, {files: cache(3)})
        for text, who in setup:
            say(bot, text, user=who)
        return say(bot, body, user=user, **kw)[1]
    return scenario


def ignored(kind: str) -> Scenario:
    def scenario(bot: Bot, remote: GitRemote) -> list[str]:
        prod(bot, remote)
        start = len(bot.fake.calls)
        if kind == "edited":
            c = comment(bot, "/pledge approve", user="carol", action="edited")
        elif kind == "bot":
            c = comment(bot, "/pledge approve", user="renovate[bot]", user_type="Bot")
        else:
            c = comment(bot, "/pledge approve", user="carol", plain_issue=True)
        bot.deliver("issue_comment", c.payload)
        bot.work()
        return [x.op_id for x in bot.fake.calls[start:] if not x.is_token]
    return scenario


def button(identifier: str, user: str) -> Scenario:
    def scenario(bot: Bot, remote: GitRemote) -> list[str]:
        return click(bot, identifier, prod(bot, remote), user=user)
    return scenario


def racing(bot: Bot, remote: GitRemote) -> list[str]:
    prod(bot, remote)
    sha2 = remote.push_pr(7, {PROD: cache(9)}, from_base=False)
    bot.fake.add_pull(REPO, 7, base_ref="main", head_sha=sha2, author=AUTHOR)
    return say(bot, "/pledge approve", user="carol")[1]


SCENARIOS: dict[str, Scenario] = {
    "approve (team member, satisfies the rules)": then(body="/pledge approve sized right", user="carol"),
    "approve (read access: refused)": then(body="/pledge approve", user="mallory"),
    "approve (the PR author: refused)": then(body="/pledge approve", user=AUTHOR),
    "approve racing a push (recorded at the checked SHA)": racing,
    "unapprove": then(("/pledge approve", "carol"), body="/pledge unapprove", user="carol"),
    "hold (the PR author)": then(body="/pledge hold wip", user=AUTHOR),
    "hold (write access)": then(body="/pledge hold freeze", user="bob"),
    "hold (the PR author, one approval standing)": then(("/pledge approve", "carol"), body="/pledge hold",
                                                         user=AUTHOR),
    "unhold (own hold)": then(("/pledge hold", "bob"), body="/pledge unhold", user="bob"),
    "check (the PR author)": then(body="/pledge check", user=AUTHOR),
    "check (write access)": then(body="/pledge check", user="bob"),
    "preview (the PR author)": then(body="/pledge preview", user=AUTHOR),
    "promote dev -> prod (the PR author)": then(body="/pledge promote prod", user=AUTHOR, files=DEV),
    "help": then(body="/pledge help", user="zed"),
    "unknown verb": then(body="/pledge aprove", user="carol"),
    "look-alike slash hint": then(body="\u2215pledge approve", user="carol"),
    "quoted approve": then(body="> /pledge approve", user="carol"),
    "edited comment": ignored("edited"),
    "comment by a bot": ignored("bot"),
    "comment on a plain issue": ignored("issue"),
    "50 holds by a writer": then(body="\n".join(f"/pledge hold r{i}" for i in range(50)), user="bob"),
    "button Re-run (the PR author)": button("rerun", AUTHOR),
    "button Preview (write access)": button("preview", "bob"),
}


def main() -> int:
    key = _key()
    print("GitHub REST calls per command through the real handler (fake GitHub; token fetches not counted):")
    failed = False
    for name, scenario in SCENARIOS.items():
        ops, violations = run(name, scenario, key)
        budget = BUDGET.get(name)
        mark = f" (budget <= {budget})" if budget is not None else ""
        print(f"  {len(ops):2}  {name}{mark}")
        for op in ops:
            print(f"        {op}")
        if violations:
            print("      OpenAPI violations:", *violations, sep="\n        ")
            failed = True
        if budget is not None and len(ops) > budget:
            print(f"      OVER BUDGET: {len(ops)} > {budget}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
