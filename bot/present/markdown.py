"""Markdown for GitHub: escaping relayed text, cutting to GitHub's limits, status icons, counted nouns."""

from __future__ import annotations

from bot.core.report import Conclusion

ICONS = {Conclusion.SUCCESS: "✅", Conclusion.NEUTRAL: "⚠️", Conclusion.FAILURE: "❌",
         Conclusion.ACTION_REQUIRED: "✋"}


def escape(text: str, *, inline: bool = False) -> str:
    """Plain text inside Markdown: no HTML, no accidental code spans; `inline` also keeps it on one line and
    defuses @-mentions (relayed reasons and paths must never ping anyone)."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    return out.replace("\n", " ").replace("@", "@\u200b") if inline else out


def count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cut(text: str, limit: int, what: str = "text") -> str:
    """`text` if it fits in `limit` characters, else cut at a line break with a closing note."""
    if len(text) <= limit:
        return text
    note = f"\n\n*… {what} cut here: {len(text):,} characters do not fit in {limit:,}.*\n"
    head = text[: limit - len(note) - 8]
    if "\n" in head:
        head = head[: head.rindex("\n")]
    if head.count("```") % 2:  # do not leave a code block open
        head += "\n```"
    return head + note
