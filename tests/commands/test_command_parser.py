"""The slash-command parser: every bad input from issue 5, as a table; bounds by structure, not by timers."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema

from bot.core import commands
from bot.core.commands import (
    BUTTONS,
    COMMANDS,
    MAX_ARG_CHARS,
    MAX_BODY,
    MAX_COMMANDS,
    Command,
    Commands,
    Ignore,
    Reply,
    from_action,
    help_text,
    parse,
)

SLUG = "pledge-bot"


def shape(result: Commands | Reply | Ignore) -> Any:
    """A comparable summary: [(verb, args)...] for commands, ("reply", kind) or "ignore"."""
    if isinstance(result, Commands):
        return [(c.verb, c.args) for c in result.commands]
    if isinstance(result, Reply):
        return ("reply", result.kind)
    return "ignore"


APPROVE = [("approve", ())]

CASES = [
    # plain commands, several per comment, case-insensitive verbs and prefix
    ("plain", "/pledge approve", APPROVE),
    ("reason kept", "/pledge approve looks fine to me", [("approve", ("looks fine to me",))]),
    ("upper case", "/PLEDGE APPROVE", APPROVE),
    ("mixed case", "/Pledge Hold Freeze week", [("hold", ("Freeze week",))]),
    ("several in order", "/pledge hold wait\nsome text\n/pledge check", [("hold", ("wait",)), ("check", ())]),
    ("up to 3 spaces of indent", "   /pledge approve", APPROVE),
    ("CRLF endings", "hi\r\n/pledge approve\r\n", APPROVE),
    ("trailing punctuation", "/pledge approve.", APPROVE),
    ("after prose in a paragraph", "Looks good.\n/pledge approve", APPROVE),
    ("duplicates run once", "/pledge approve\n/pledge approve\n/PLEDGE approve", APPROVE),
    ("preview with env", "/pledge preview Prod", [("preview", ("prod",))]),
    ("preview without env", "/pledge preview", [("preview", ())]),
    ("promote", "/pledge promote staging", [("promote", ("staging",))]),
    # the @app-slug form
    ("mention", "@pledge-bot approve", APPROVE),
    ("mention any case", "@Pledge-Bot approve", APPROVE),
    ("mention of the bot user", "@pledge-bot[bot] approve", APPROVE),
    ("other app", "@other-bot approve", "ignore"),
    ("longer slug", "@pledge-botx approve", "ignore"),
    ("mention chatter", "@pledge-bot thanks, that was quick!", "ignore"),
    ("mention typo", "@pledge-bot aprove", ("reply", "unknown")),
    # block quotes: a quoted command never runs
    ("quoted", "> /pledge approve", "ignore"),
    ("quoted no space", ">/pledge approve", "ignore"),
    ("quoted indented", "  > /pledge approve", "ignore"),
    ("nested quote", "> > /pledge approve", "ignore"),
    ("quote reply", "> @alice wrote:\n> /pledge approve\n\nI agree, but I cannot approve.", "ignore"),
    ("lazy continuation", "> someone said\n/pledge approve", "ignore"),
    ("after the quote ends", "> someone said\n\n/pledge approve", APPROVE),
    # fenced code: ``` and ~~~, longer fences, info strings, unclosed fences
    ("backtick fence", "```\n/pledge approve\n```", "ignore"),
    ("tilde fence", "~~~\n/pledge approve\n~~~", "ignore"),
    ("info string", "```yaml\n/pledge approve\n```", "ignore"),
    ("longer fence holds a shorter one", "````\n```\n/pledge approve\n```\n````", "ignore"),
    ("tilde not closed by backticks", "~~~\n```\n/pledge approve\n~~~\n/pledge check", [("check", ())]),
    ("closing fence may be longer", "```\nx\n`````\n/pledge check", [("check", ())]),
    ("unclosed fence runs to the end", "```\n/pledge approve", "ignore"),
    ("indented fence", "  ```\n/pledge approve\n  ```", "ignore"),
    ("after a fence", "```\n/pledge approve\n```\n/pledge hold wait", [("hold", ("wait",))]),
    ("backtick info with a backtick: no fence, no span", "``` a ` b\n/pledge approve", APPROVE),
    # inline code, also spanning lines
    ("inline code", "`/pledge approve`", "ignore"),
    ("inline code in prose", "Type `/pledge approve` to approve.", "ignore"),
    ("code span across lines", "see `this\n/pledge approve` here", "ignore"),
    ("double backtick span", "`` a\n/pledge approve ` b ``", "ignore"),
    ("unmatched backtick is literal", "don't `worry\n/pledge approve", APPROVE),
    # other hidden or non-paragraph text
    ("indented code", "    /pledge approve", "ignore"),
    ("tab indented", "\t/pledge approve", "ignore"),
    ("html comment", "<!--\n/pledge approve\n-->", "ignore"),
    ("after an html comment", "<!-- note -->\n/pledge check", [("check", ())]),
    ("list item", "- /pledge approve", "ignore"),
    ("mid line", "please /pledge approve", "ignore"),
    ("no space after prefix", "/pledgeapprove", "ignore"),
    ("other word", "/pledges approve", "ignore"),
    ("unicode line separator is not a line break", "hello\u2028/pledge approve", "ignore"),
    # look-alike slashes are text; alone they get a hint
    ("division slash U+2215", "\u2215pledge approve", ("reply", "lookalike")),
    ("fullwidth solidus U+FF0F", "\uff0fpledge approve", ("reply", "lookalike")),
    ("fraction slash U+2044", "\u2044pledge approve", ("reply", "lookalike")),
    ("big solidus U+29F8", "\u29f8pledge approve", ("reply", "lookalike")),
    ("fullwidth letters", "/\uff50\uff4c\uff45\uff44\uff47\uff45 approve", ("reply", "lookalike")),
    ("look-alike next to a real command", "\u2215pledge approve\n/pledge check", [("check", ())]),
    ("look-alike in a quote", "> \u2215pledge approve", "ignore"),
    # unknown verbs and bad arguments: one reply, nothing runs
    ("typo", "/pledge aprove", ("reply", "unknown")),
    ("unknown among valid ones", "/pledge hold x\n/pledge aprove", ("reply", "unknown")),
    ("fullwidth verb", "/pledge \uff41pprove", ("reply", "unknown")),
    ("promote needs an env", "/pledge promote", ("reply", "usage")),
    ("promote takes one env", "/pledge promote dev prod", ("reply", "usage")),
    ("env must be a name", "/pledge preview ../etc", ("reply", "usage")),
    ("check takes no argument", "/pledge check now", ("reply", "usage")),
    ("bare prefix gets help", "/pledge", ("reply", "help")),
    ("no command at all", "LGTM, ship it", "ignore"),
    ("empty", "", "ignore"),
]


@pytest.mark.parametrize(("body", "expected"), [pytest.param(b, e, id=i) for i, b, e in CASES])
def test_parse_table(body: str, expected: Any) -> None:
    assert shape(parse(body, app_slug=SLUG)) == expected


@pytest.mark.parametrize(("typo", "guess"), [
    ("aprove", "approve"), ("APROVE", "approve"), ("unhodl", "unhold"), ("promot", "promote"),
    ("lgtm", "approve"), ("retest", "check"), ("rerun", "check"), ("\uff41pprove", "approve"),
])
def test_unknown_verb_suggests(typo: str, guess: str) -> None:
    result = parse(f"/pledge {typo}", app_slug=SLUG)
    assert isinstance(result, Reply) and result.kind == "unknown"
    first = result.text.splitlines()[0]
    assert first == f"unknown command `/pledge {typo}` — did you mean `{guess}`?"
    assert "`/pledge approve [reason]`" in result.text  # the reply lists the commands


def test_a_slug_without_pledge_in_it() -> None:
    assert shape(parse("@gitops-bot approve", app_slug="gitops-bot")) == APPROVE
    assert shape(parse("@GitOps-Bot hold now", app_slug="gitops-bot")) == [("hold", ("now",))]
    assert shape(parse("@gitops-bot approve", app_slug="other")) == "ignore"


def test_unknown_verb_without_a_close_match_has_no_guess() -> None:
    result = parse("/pledge xyzzy", app_slug=SLUG)
    assert isinstance(result, Reply) and result.text.startswith("unknown command `/pledge xyzzy`\n")


def test_unknown_verb_is_echoed_safely() -> None:
    result = parse("/pledge `@everyone\x07", app_slug=SLUG)
    assert isinstance(result, Reply)
    assert result.text.startswith("unknown command `/pledge @everyone`")  # in a code span: no ping, no bell


def test_line_numbers_and_reason_property() -> None:
    result = parse("intro\n\n/pledge hold waiting for the freeze\n/pledge unhold", app_slug=SLUG)
    assert isinstance(result, Commands)
    hold, unhold = result.commands
    assert (hold.line, hold.reason, hold.env) == (3, "waiting for the freeze", None)
    assert (unhold.line, unhold.reason) == (4, "")
    assert Command("promote", ("prod",), 1).env == "prod"


def test_fifty_commands_run_ten_and_say_so_once() -> None:
    body = "\n".join(f"/pledge hold reason {i}" for i in range(50))
    result = parse(body, app_slug=SLUG)
    assert isinstance(result, Commands)
    assert len(result.commands) == MAX_COMMANDS == 10
    assert [c.reason for c in result.commands] == [f"reason {i}" for i in range(10)]
    assert result.ignored == 40
    assert result.notice == ("Ran the first 10 commands of this comment; the other 40 were ignored "
                             "(at most 10 per comment).")


def test_fifty_identical_commands_are_one() -> None:
    result = parse("/pledge approve\n" * 50, app_slug=SLUG)
    assert isinstance(result, Commands) and len(result.commands) == 1 and result.notice is None


def test_many_unknown_verbs_make_one_short_reply() -> None:
    result = parse("\n".join(f"/pledge nope{i}" for i in range(50)), app_slug=SLUG)
    assert isinstance(result, Reply)
    assert result.text.count("unknown command") == 3  # the first three; one reply


def test_long_reason_is_cut() -> None:
    result = parse("/pledge hold " + "x" * 60_000, app_slug=SLUG)
    assert isinstance(result, Commands)
    assert len(result.commands[0].reason) == MAX_ARG_CHARS and result.commands[0].reason.endswith("…")


# 60,000-character comments: the parser visits each line once, every step per line is linear in the line,
# and code spans are matched in one linear sweep. The tests pin that structure by counting work, not time.
PATHOLOGICAL = {
    "quotes": "> /pledge approve\n" * 3334,
    "one long line": "/pledge hold " + "a " * 30_000,
    "backticks": "`" * 60_000,
    "backtick runs of growing length": " ".join("`" * n for n in range(1, 346)),
    "open fences": "```\n" * 15_000,
    "html comment openers": "<!--\n" * 12_000,
    "blank lines": "\n" * 60_000,
    "look-alikes": "\u2215pledge approve\n" * 3750,
    "distinct commands": "".join(f"/pledge hold {i:06d}\n" for i in range(3000)),
    "long prefix-only line": "/pledge" + " " * 60_000,
    "mention flood": "@pledge-bot " + "x" * 60_000,
}


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_sixty_thousand_characters_are_bounded_by_structure(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    body = PATHOLOGICAL[name]
    assert 50_000 <= len(body) <= 70_000
    calls = {"head": 0, "command": 0, "longest": 0}
    head, command = commands._command_head, commands._command

    def counting_head(line: str, slug: str) -> Any:
        calls["head"] += 1
        calls["longest"] = max(calls["longest"], len(line))
        return head(line, slug)

    def counting_command(*args: Any, **kwargs: Any) -> Any:
        calls["command"] += 1
        return command(*args, **kwargs)

    monkeypatch.setattr(commands, "_command_head", counting_head)
    monkeypatch.setattr(commands, "_command", counting_command)
    result = parse(body, app_slug=SLUG)
    lines = body.count("\n") + 1
    assert calls["head"] <= lines  # each line is looked at once at most
    assert calls["command"] <= lines
    assert calls["longest"] <= commands.MAX_LINE  # no step sees more than a bounded slice of a line
    if isinstance(result, Commands):
        assert len(result.commands) <= MAX_COMMANDS
        assert all(len(a) <= MAX_ARG_CHARS for c in result.commands for a in c.args)
    if isinstance(result, Reply):
        assert len(result.text) < 5_000


def test_nothing_after_max_body_is_read() -> None:
    body = "x" * (MAX_BODY + 10) + "\n/pledge approve"
    assert isinstance(parse(body, app_slug=SLUG), Ignore)
    assert isinstance(parse("x" * (MAX_BODY - 100) + "\n/pledge approve", app_slug=SLUG), Commands)


def test_random_markdown_never_raises() -> None:
    pieces = ["/pledge ", "@pledge-bot ", "approve", "hold", "aprove", "> ", "```", "~~~~", "`", "``", "<!--",
              "-->", "\n", "\n\n", "    ", "\t", "\u2215", "\uff0f", "text", "prod", "é", "\r\n", "\u200b"]
    rng = random.Random(5)
    for _ in range(2000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        result = parse(body, app_slug=SLUG)
        assert isinstance(result, Commands | Reply | Ignore)
        if isinstance(result, Commands):
            assert 1 <= len(result.commands) <= MAX_COMMANDS
            assert all(c.verb in COMMANDS for c in result.commands)


def test_command_table_covers_the_verbs_of_the_issue() -> None:
    assert set(COMMANDS) == {"help", "check", "preview", "approve", "unapprove", "hold", "unhold", "promote"}
    assert {v for v, s in COMMANDS.items() if s.ack} == {"check", "preview", "promote"}
    text = help_text(SLUG, ["`prod`: 1 approval from members of acme/platform for prod requests"])
    for spec in COMMANDS.values():
        assert f"`{spec.usage}`" in text
    assert "`@pledge-bot <command>`" in text and "`prod`: 1 approval" in text
    assert "<env>" not in text.replace("`/pledge promote <env>`", "")  # no raw HTML-looking text outside code


def test_check_run_buttons_fit_githubs_limits() -> None:
    assert 1 <= len(BUTTONS) <= 3
    for button in BUTTONS:
        assert set(button) == {"label", "description", "identifier"}
        assert len(button["label"]) <= 20 and len(button["identifier"]) <= 20 and len(button["description"]) <= 40
    assert [b["label"] for b in BUTTONS] == ["Re-run", "Preview"]
    assert from_action("rerun") == Command("check", (), 0)
    assert from_action("preview") == Command("preview", (), 0)
    assert from_action("delete-everything") is None


OPENAPI = Path(__file__).resolve().parents[1] / "github" / "openapi-subset.json"


@pytest.mark.skipif(not OPENAPI.is_file(), reason="tests/github/openapi-subset.json (issue 4) is not present")
def test_buttons_and_action_required_validate_against_githubs_openapi() -> None:
    spec = json.loads(OPENAPI.read_text())
    resource = referencing.Resource.from_contents(spec, default_specification=referencing.jsonschema.DRAFT4)
    registry = referencing.Registry().with_resource("urn:github", resource)
    pointer = "urn:github#/paths/~1repos~1{owner}~1{repo}~1check-runs~1{check_run_id}/patch/requestBody/content/" \
              "application~1json/schema"
    validator = jsonschema.Draft4Validator({"$ref": pointer}, registry=registry)
    body = {"conclusion": "action_required", "actions": list(BUTTONS),
            "output": {"title": "1 approval needed: prod", "summary": "### Approvals"}}
    assert list(validator.iter_errors(body)) == []
    too_long = {**body, "actions": [{**BUTTONS[0], "label": "Re-run the pledge check"}]}
    assert list(validator.iter_errors(too_long))
    four = {**body, "actions": [*BUTTONS, *BUTTONS]}
    assert list(validator.iter_errors(four))
