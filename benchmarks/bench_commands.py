"""Slash-command benchmarks (issue 5): parser time on 60,000-character comments, and GitHub REST calls per command.

The REST counts come from running a *reference handler* (below) wired the way docs/commands.md tells bot/app to
wire the pure modules, against a fake GitHub that records every call. It is the plan, executed; the real app's
counts are measured through bot/app's handler by benchmarks/bench_app_commands.py.
Usage: python benchmarks/bench_commands.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.store.audit import AuditStore
from bot.core import approvals as ap
from bot.core.audit import Record
from bot.core.authorization import authorize, once, triage, unhold_targets
from bot.core.commands import REACT_DONE, REACT_RECEIVED, REACT_REFUSED, Commands, Ignore, Reply, parse
from bot.core.platform import parse_config
from bot.core.report import Finding

SLUG, REPO, PR, HEAD = "pledge-bot", "acme/platform", 7, "d" * 40
CONFIG = parse_config(b"""apiVersion: pledge.dev/v1
kind: Platform
environments: [{name: dev}, {name: staging}, {name: prod}]
teams: [{name: payments}]
approvals:
  - {name: prod, environments: [prod], count: 1, from: {teams: [acme/platform-team]}}
""")


class FakeGitHub:
    """Records (method, path) of every REST call the handler makes."""

    def __init__(self, head: str = HEAD, members: set[str] | None = None, roles: dict[str, str] | None = None):
        self.calls: list[tuple[str, str]] = []
        self.head, self.members, self.roles = head, members or {"carol"}, roles or {}

    def get_pull(self) -> dict[str, Any]:
        self.calls.append(("GET", f"/repos/{REPO}/pulls/{PR}"))
        return {"head_sha": self.head, "state": "open"}

    def permission(self, user: str) -> str:
        self.calls.append(("GET", f"/repos/{REPO}/collaborators/{user}/permission"))
        return self.roles.get(user, "read")

    def is_member(self, org: str, team: str, user: str) -> bool:
        self.calls.append(("GET", f"/orgs/{org}/teams/{team}/memberships/{user}"))
        return user in self.members

    def react(self, comment_id: int, content: str) -> None:
        self.calls.append(("POST", f"/repos/{REPO}/issues/comments/{comment_id}/reactions:{content}"))

    def reply(self, text: str) -> None:
        self.calls.append(("POST", f"/repos/{REPO}/issues/{PR}/comments"))

    def update_check_run(self, conclusion: str) -> None:
        self.calls.append(("PATCH", f"/repos/{REPO}/check-runs/1:{conclusion}"))

    def update_sticky_comment(self) -> None:
        self.calls.append(("PATCH", f"/repos/{REPO}/issues/comments/2"))

    def rerun_check(self) -> None:  # issue 4's budget for one check: create, complete, upsert the comment
        self.calls += [("POST", "check-runs"), ("PATCH", "check-runs"), ("PATCH", "comment")]

    def open_promotion_pr(self) -> None:  # after a git push (no REST): open the PR, ask the author to review
        self.calls += [("POST", f"/repos/{REPO}/pulls"), ("POST", f"/repos/{REPO}/pulls/8/requested_reviewers")]


@dataclass
class Snapshot:
    """What the app stored at the last completed check of this PR (no API call to read it)."""

    sha: str = HEAD
    requests: list[tuple[str, str, str]] = field(
        default_factory=lambda: [("prod", "postgres", "requests/prod/p/db.yaml")])
    findings: list[Finding] = field(default_factory=list)


def handle_comment(payload: dict[str, Any], gh: FakeGitHub, store: AuditStore, snap: Snapshot) -> None:
    """The reference wiring of issue_comment.created (see docs/commands.md, 'Wiring')."""
    t = triage(payload, app_slug=SLUG)
    if t.verdict == "ignore":
        return
    comment, author = payload["comment"], payload["issue"]["user"]["login"]
    user, cid = comment["user"]["login"], comment["id"]
    parsed = parse(comment["body"], app_slug=SLUG)
    if isinstance(parsed, Ignore):
        return
    if isinstance(parsed, Reply):
        gh.reply(parsed.text)
        gh.react(cid, REACT_DONE if parsed.kind == "help" else REACT_REFUSED)
        return
    assert isinstance(parsed, Commands)
    permission = once(lambda: gh.permission(user))
    # ONE is_eligible per job: its memo keeps each membership / permission lookup to a single GET
    eligible = ap.make_is_eligible(permission=gh.permission, is_member=gh.is_member)
    replies = [parsed.notice] if parsed.notice else []
    refused = changed = False
    pr = None
    rules, _ = ap.load_rules(CONFIG)  # pledge.yaml of the base branch, read from the git mirror: no REST call
    for cmd in parsed.commands:
        state = store.state(REPO, PR)
        why = authorize(cmd, user=user, author=author, permission=permission, holders=state.holders)
        if why:
            replies.append(why)
            refused = True
            continue
        if cmd.verb == "help":
            replies.append("help text")
            continue
        if pr is None:
            pr = gh.get_pull()
        if cmd.spec.ack:
            gh.react(cid, REACT_RECEIVED)
        sha = snap.sha  # bind decisions to the commit Pledge checked (racing pushes: see docs)
        now, source = datetime.now(UTC), f"comment:{cid}:{cmd.line}"
        if cmd.verb == "approve":
            new = ap.Approval(user, sha, now, cmd.reason)
            result = evaluate(rules, snap, [*state.approvals, new], state, author, eligible)
            line = result.refusal(user)
            store.add(Record(REPO, PR, "refuse" if line else "approve", user, sha, now, line or cmd.reason,
                             source=source))
            replies += [line] if line else []
            refused, changed = refused or bool(line), changed or not line
        elif cmd.verb in ("unapprove", "hold"):
            changed = store.add(Record(REPO, PR, cmd.verb, user, sha, now, cmd.reason, source=source)) or changed
        elif cmd.verb == "unhold":
            for holder in unhold_targets(state.holders, user=user, permission=permission):
                changed = store.add(Record(REPO, PR, "unhold", user, sha, now, cmd.reason, holder, source)) or changed
        elif cmd.verb == "check":
            gh.rerun_check()
        elif cmd.verb == "preview":
            gh.reply("<details>rendered manifests</details>")
        elif cmd.verb == "promote":
            gh.open_promotion_pr()
            replies.append("opened #8")
    if changed and pr is not None and pr["head_sha"] == snap.sha:
        state = store.state(REPO, PR)
        result = evaluate(rules, snap, list(state.approvals), state, author, eligible)
        gh.update_check_run(ap.conclusion(snap.findings, result))
        gh.update_sticky_comment()
    if replies:
        gh.reply("\n".join(replies))
    gh.react(cid, REACT_REFUSED if refused else REACT_DONE)


def evaluate(rules: Any, snap: Snapshot, approvals: list[ap.Approval], state: Any, author: str,
             eligible: Any) -> ap.ApprovalResult:
    return ap.evaluate(rules, requests=snap.requests, approvable_findings=ap.approvable(snap.findings),
                       approvals=approvals, head_sha=snap.sha, author=author, holds=state.holds,
                       is_eligible=eligible)


def payload(body: str, user: str = "carol", author: str = "dave", cid: int = 100) -> dict[str, Any]:
    return {"action": "created", "issue": {"number": PR, "state": "open", "user": {"login": author},
                                           "pull_request": {"merged_at": None}},
            "comment": {"id": cid, "body": body, "user": {"login": user, "type": "User"}}}


SCENARIOS: list[tuple[str, str, str, dict[str, str], list[str]]] = [
    # name, body, user, roles, earlier comment bodies (by bob) to set the scene
    ("approve (team member, satisfies the rules)", "/pledge approve sized right", "carol", {}, []),
    ("approve (read access: refused)", "/pledge approve", "mallory", {}, []),
    ("approve (the PR author: refused)", "/pledge approve", "dave", {}, []),
    ("unapprove", "/pledge unapprove", "carol", {}, ["approve"]),
    ("hold (write access)", "/pledge hold freeze", "bob", {"bob": "write"}, []),
    ("hold (the PR author)", "/pledge hold wip", "dave", {}, []),
    ("unhold (own hold)", "/pledge unhold", "bob", {"bob": "write"}, ["hold"]),
    ("check (the PR author)", "/pledge check", "dave", {}, []),
    ("check (write access)", "/pledge check", "bob", {"bob": "write"}, []),
    ("preview (the PR author)", "/pledge preview prod", "dave", {}, []),
    ("promote (the PR author)", "/pledge promote staging", "dave", {}, []),
    ("help", "/pledge help", "zed", {}, []),
    ("unknown verb", "/pledge aprove", "carol", {}, []),
    ("quoted approve", "> /pledge approve", "carol", {}, []),
    ("50 holds by write user", "\n".join(f"/pledge hold r{i}" for i in range(50)), "bob", {"bob": "write"}, []),
]


def rest_budget() -> list[tuple[str, int, list[tuple[str, str]]]]:
    out = []
    for name, body, user, roles, before in SCENARIOS:
        with tempfile.TemporaryDirectory() as tmp:
            store, snap = AuditStore(tmp), Snapshot()
            for i, verb in enumerate(before):
                who = "carol" if verb == "approve" else "bob"
                store.add(Record(REPO, PR, verb, who, HEAD, datetime.now(UTC), source=f"setup:{i}"))
            gh = FakeGitHub(roles=roles)
            handle_comment(payload(body, user=user), gh, store, snap)
            out.append((name, len(gh.calls), gh.calls))
    return out


def parser_times(repeat: int) -> list[tuple[str, float, float]]:
    bodies = {
        "typical comment (3 lines)": "Looks good to me.\n\n/pledge approve sizing checked\n",
        "60k: quoted commands": "> /pledge approve\n" * 3334,
        "60k: one long command line": "/pledge hold " + "a " * 30_000,
        "60k: backticks": "`" * 60_000,
        "60k: backtick runs 1..345": " ".join("`" * n for n in range(1, 346)),
        "60k: a backtick per line + command": "/pledge check\n" + "`\n" * 30_000,
        "60k: prose mentioning no command": ("Looks fine, merging after lunch.\n" * 1900)[:60_000],
        "60k: open fences": "```\n" * 15_000,
        "60k: distinct commands": "".join(f"/pledge hold {i:06d}\n" for i in range(3000)),
        "60k: look-alike slashes": "\u2215pledge approve\n" * 3750,
        "60k: prose, no command": ("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" * 1050)[:60_000],
    }
    out = []
    for name, body in bodies.items():
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            parse(body, app_slug=SLUG)
            samples.append((time.perf_counter() - start) * 1000)
        out.append((name, statistics.median(samples), max(samples)))
    return out


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--repeat", type=int, default=20)
    repeat = args.parse_args().repeat
    print(f"parse(): milliseconds over {repeat} runs (median / max)")
    for name, med, worst in parser_times(repeat):
        print(f"  {name:34} {med:8.2f} {worst:8.2f}")
    print("\nGitHub REST calls per comment (reference handler, fake GitHub):")
    for name, count, calls in rest_budget():
        print(f"  {count:2}  {name}")
        for method, path in calls:
            print(f"        {method:5} {path}")
    approve = next(c for n, c, _ in rest_budget() if n.startswith("approve (team member"))
    print(f"\n/pledge approve by an authorized user that satisfies the rules: {approve} calls (budget <= 5)")
    if approve > 5:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
