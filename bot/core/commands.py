"""Slash commands in PR comments, pure: the parser, the verb table, who may run what, and check-run buttons."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

MAX_BODY = 65536  # GitHub's own limit on a comment; anything after it is not read
MAX_COMMANDS = 10  # run at most this many distinct commands per comment
MAX_ARG_CHARS = 300  # a reason is cut here
MAX_LINE = 1024  # characters of a command line that are read
PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")
REACT_RECEIVED, REACT_DONE, REACT_REFUSED = "eyes", "rocket", "confused"

# Unicode look-alikes of "/" (confusables); a line starting with one is text, answered with a hint
LOOKALIKE_SLASHES = frozenset("\u2044\u2215\u2571\u27cb\u29f8\u3033\u30ce\u4e3f\u2cc6\u1735\uff0f\U0001d23a")
_ENV = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
_SLOW_START = frozenset(("", " ", "\t", "`", "~", "<", ">"))  # first characters that need the full line rules
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SUGGEST = {"lgtm": "approve", "rerun": "check", "re-run": "check", "retest": "check", "test": "check",
            "plan": "preview", "cancel": "unapprove", "release": "unhold"}

Who = Literal["anyone", "author-or-write", "approver", "self", "holder-or-maintain"]
Shape = Literal["ignored", "none", "env?", "env", "reason?"]


@dataclass(frozen=True)
class CommandSpec:
    """One verb: who may run it by default, the shape of its arguments, and its help line."""

    verb: str
    who: Who
    args: Shape
    usage: str
    help: str
    ack: bool = False  # long-running: react with eyes on receipt (others react once, when done)
    on_merged: bool = False  # also runs on a merged PR (every other command gets one reply there)


COMMANDS: Mapping[str, CommandSpec] = {s.verb: s for s in (
    CommandSpec("help", "anyone", "ignored", "/pledge help", "list the commands and who may run them", on_merged=True),
    CommandSpec("check", "author-or-write", "none", "/pledge check", "re-run the pledge check", ack=True),
    CommandSpec("preview", "author-or-write", "env?", "/pledge preview [env]",
                "post the full rendered manifests of this PR's requests", ack=True),
    CommandSpec("approve", "approver", "reason?", "/pledge approve [reason]",
                "approve this PR's requests at the current commit (never your own PR)"),
    CommandSpec("unapprove", "self", "reason?", "/pledge unapprove", "withdraw your approval"),
    CommandSpec("hold", "author-or-write", "reason?", "/pledge hold [reason]", "block the merge until unheld"),
    CommandSpec("unhold", "holder-or-maintain", "reason?", "/pledge unhold",
                "lift your hold (maintain or admin: lift every hold)"),
    CommandSpec("promote", "author-or-write", "env", "/pledge promote <env>",
                "open a PR copying this PR's requests to the given (next) environment", ack=True, on_merged=True),
)}
WHO_TEXT: Mapping[str, str] = {
    "anyone": "anyone",
    "author-or-write": "the PR author or people with write access",
    "approver": "whoever pledge.yaml `approvals` allows, never the PR author",
    "self": "anyone (only their own approval)",
    "holder-or-maintain": "whoever placed the hold, or people with maintain or admin access",
}
# check-run buttons: at most 3; label <= 20, description <= 40, identifier <= 20 characters
BUTTONS: tuple[dict[str, str], ...] = (
    {"label": "Re-run", "description": "Check this commit again", "identifier": "rerun"},
    {"label": "Preview", "description": "Post the rendered manifests", "identifier": "preview"},
)
_BUTTON_VERBS = {"rerun": "check", "preview": "preview"}


@dataclass(frozen=True)
class Command:
    verb: str
    args: tuple[str, ...]
    line: int  # 1-based line in the comment

    @property
    def spec(self) -> CommandSpec:
        return COMMANDS[self.verb]

    @property
    def env(self) -> str | None:
        return self.args[0] if self.args and self.spec.args in ("env", "env?") else None

    @property
    def reason(self) -> str:
        return self.args[0] if self.args and self.spec.args == "reason?" else ""


@dataclass(frozen=True)
class Commands:
    """Commands to run in order; `ignored` distinct commands beyond MAX_COMMANDS were dropped."""

    commands: tuple[Command, ...]
    ignored: int = 0

    @property
    def notice(self) -> str | None:
        """The one reply to post when commands were dropped."""
        if not self.ignored:
            return None
        return (f"Ran the first {len(self.commands)} commands of this comment; the other {self.ignored} were "
                f"ignored (at most {MAX_COMMANDS} per comment).")


@dataclass(frozen=True)
class Reply:
    """Nothing runs; post `text` once. kind: help | unknown | usage | lookalike."""

    text: str
    kind: str


@dataclass(frozen=True)
class Ignore:
    reason: str


Parsed = Commands | Reply | Ignore


def parse(body: str, *, app_slug: str) -> Parsed:
    """The commands of one comment, a single reply, or nothing; one pass over at most MAX_BODY characters."""
    kept: list[Command] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    problems: list[tuple[str, str]] = []  # (kind, reply line); the first three are kept
    dropped = 0
    bare = lookalike = False
    slug = app_slug.lower().removeprefix("@")
    text = body[:MAX_BODY]
    folded = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
    if "pledge" not in folded and not (slug and "@" + slug in folded):
        return Ignore("no command")  # most comments: one C-speed scan, no line walk
    for number, line in _visible_lines(text):
        head = _command_head(line[:MAX_LINE], slug)
        if head is None:
            lookalike = lookalike or _looks_like_command(line)
            continue
        verb, rest, mention = head
        if not verb:
            bare = bare or not mention
            continue
        if len(problems) >= 3:
            continue
        found = _command(verb, rest, number, mention=mention)
        if found is None:
            continue
        if isinstance(found, tuple):
            problems.append(found)
        elif (found.verb, found.args) not in seen:
            seen.add((found.verb, found.args))
            if len(kept) < MAX_COMMANDS:
                kept.append(found)
            else:
                dropped += 1
    if problems:
        return Reply("\n".join(text for _, text in problems) + "\n\n" + _short_help(), problems[0][0])
    if kept:
        return Commands(tuple(kept), dropped)
    if bare:
        return Reply(help_text(app_slug), "help")
    if lookalike:
        return Reply("That looks like a Pledge command, but it does not start with an ASCII `/` (it was "
                     "probably pasted from a document that replaced it). Type `/pledge <command>` by hand.",
                     "lookalike")
    return Ignore("no command")


def _visible_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of lines that render as top-level paragraph text: not in a fence, block quote (or
    its lazy continuation), HTML comment, indented code or an inline code span."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[tuple[int, str]] = []
    paragraph: list[tuple[int, str]] = []
    fence: tuple[str, int] | None = None
    in_comment = after_quote = False

    def flush() -> None:
        out.extend(_outside_code_spans(paragraph))
        paragraph.clear()

    for number, raw in enumerate(lines, 1):
        first = raw[:1]
        if fence is None and not in_comment and not after_quote and (
                first not in _SLOW_START or (first in "`~" and raw[:3] != first * 3)):
            paragraph.append((number, raw))  # fast path: an unindented paragraph line that opens no fence
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        line = raw[indent:] if indent <= 3 else raw
        if fence is not None:
            char, size = fence
            stripped = line.rstrip(" \t")
            if indent <= 3 and stripped.startswith(char * size) and stripped == char * len(stripped):
                fence = None
            continue
        if in_comment:
            in_comment = "-->" not in raw
            continue
        if not raw.strip(" \t"):  # CommonMark: blank means spaces and tabs only
            flush()
            after_quote = False
            continue
        opened = _FENCE.match(line) if indent <= 3 else None
        if opened and not (opened.group(1)[0] == "`" and "`" in opened.group(2)):
            flush()
            fence, after_quote = (opened.group(1)[0], len(opened.group(1))), False
            continue
        if indent <= 3 and line.startswith("<!--"):
            flush()
            in_comment = "-->" not in line[4:]
            continue
        if indent <= 3 and line.startswith(">"):
            flush()
            after_quote = True
            continue
        if after_quote or indent > 3 or raw.startswith("\t"):
            continue  # lazy continuation of a quote, or indented code: never a command
        paragraph.append((number, line))
    flush()
    return out


def _outside_code_spans(paragraph: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Lines whose start is not inside a code span (a span may cross lines); linear in the paragraph."""
    if not any("`" in line for _, line in paragraph):
        return list(paragraph)
    starts, pos = [], 0
    for _, line in paragraph:
        starts.append(pos)
        pos += len(line) + 1
    joined = "\n".join(line for _, line in paragraph)
    runs = [(m.start(), m.end()) for m in re.finditer(r"`+", joined)]
    following: list[int | None] = [None] * len(runs)
    last: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):
        size = runs[i][1] - runs[i][0]
        following[i] = last.get(size)
        last[size] = i
    spans, i = [], 0
    while i < len(runs):
        j = following[i]
        if j is None:
            i += 1
            continue
        spans.append((runs[i][1], runs[j][0]))
        i = j + 1
    out, k = [], 0
    for (number, line), start in zip(paragraph, starts, strict=True):
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        if not (k < len(spans) and spans[k][0] <= start):
            out.append((number, line))
    return out


def _command_head(line: str, slug: str) -> tuple[str, str, bool] | None:
    """(verb, rest, is_mention) for `/pledge verb rest` or `@slug verb rest` ("" verb for a bare prefix)."""
    mention = line.startswith("@")
    if line[:7].isascii() and line[:7].lower() == "/pledge":
        rest = line[7:]
    elif mention and slug:
        handle = line[1:].split(None, 1)[0] if len(line) > 1 else ""
        if handle.lower() not in (slug, slug + "[bot]"):
            return None
        rest = line[1 + len(handle):]
    else:
        return None
    if rest and rest[0] not in " \t":
        return None  # /pledges, /pledge-x: plain text
    parts = rest.strip().split(None, 1)
    if not parts:
        return "", "", mention
    return parts[0], parts[1] if len(parts) > 1 else "", mention


def _looks_like_command(line: str) -> bool:
    if not line or not (line[0] in LOOKALIKE_SLASHES or not line[:8].isascii()):
        return False
    folded = unicodedata.normalize("NFKC", "".join("/" if c in LOOKALIKE_SLASHES else c for c in line[:12]))
    return folded.casefold().startswith("/pledge")


def _command(verb: str, rest: str, number: int, *, mention: bool = False) -> Command | tuple[str, str] | None:
    """A Command, or (kind, reply line) saying why not; None for chatter addressed to the app by mention."""
    name = verb.rstrip(".,:;!")
    key = name.lower() if name.isascii() else ""
    spec = COMMANDS.get(key)
    if spec is None:
        guess = _suggest(name)
        if mention and not guess:
            return None  # "@pledge thanks!" is conversation, not a typo
        shown = _CONTROL.sub("", verb).replace("`", "")[:40]
        hint = f" — did you mean `{guess}`?" if guess else ""
        return "unknown", f"unknown command `/pledge {shown}`{hint}"
    text = _CONTROL.sub("", rest).strip()
    tokens = text.split()
    if spec.args == "none" and tokens:
        return "usage", f"`/pledge {key}` takes no arguments (usage: `{spec.usage}`)"
    if spec.args in ("env", "env?"):
        env = tokens[0].lower() if tokens else ""
        if len(tokens) > 1 or (tokens and not _ENV.match(env)) or (spec.args == "env" and not tokens):
            return "usage", f"usage: `{spec.usage}` (an environment name from pledge.yaml)"
        return Command(key, (env,) if env else (), number)
    if spec.args == "reason?" and text:
        cut = text if len(text) <= MAX_ARG_CHARS else text[: MAX_ARG_CHARS - 1] + "…"
        return Command(key, (cut,), number)
    return Command(key, (), number)


def _suggest(verb: str) -> str | None:
    folded = unicodedata.normalize("NFKC", verb[:40]).casefold()
    if folded in COMMANDS:
        return folded
    if folded in _SUGGEST:
        return _SUGGEST[folded]
    close = difflib.get_close_matches(folded, list(COMMANDS), n=1, cutoff=0.6)
    return close[0] if close else None


def _short_help() -> str:
    return "Commands: " + ", ".join(f"`{s.usage}`" for s in COMMANDS.values()) + "."


def help_text(app_slug: str, approvers: Collection[str] = ()) -> str:
    """The reply to `/pledge help`; `approvers` are this repository's rule lines (approvals.describe)."""
    rows = ["| command | what it does | who may run it |", "| --- | --- | --- |"]
    rows += [f"| `{s.usage}` | {s.help} | {WHO_TEXT[s.who]} |" for s in COMMANDS.values()]
    text = "\n".join(["**Pledge commands**, one per line, at the start of the line (not in quotes or code); "
                      f"`@{app_slug} <command>` works too.", "", *rows])
    if approvers:
        text += "\n\n**Approvals this repository asks for** (pledge.yaml on the base branch):\n"
        text += "\n".join(f"- {a}" for a in approvers)
    return text + "\n"


def from_action(identifier: str) -> Command | None:
    """The command a check-run button click (check_run.requested_action) stands for."""
    verb = _BUTTON_VERBS.get(identifier)
    return Command(verb, (), 0) if verb else None
