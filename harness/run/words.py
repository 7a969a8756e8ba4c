"""The runner's own sentences about an item that did not finish, in each language.

The terminal prints an outcome's `error` (English, as the CLI always did); the panel and the
report show its `words` in the page's language. An exception's own message (an item's
ItemFailed, a Python error) cannot be translated: it is given as the program's message, under
a lead sentence in the page's language.
"""
from __future__ import annotations

from typing import Any

from harness.locale import LANGS
from harness.words import words

W = words(__file__)

Words = dict[str, str]

STATUS = W.table("status")


def pick(words: Any, lang: str) -> str | None:
    """`words` in `lang` when it is a {"es", "en"} dict; None otherwise (a run from before kept only English)."""
    return words.get(lang) or words.get("en") if isinstance(words, dict) else None


def needs_unfinished(broken: list[str]) -> Words:
    return W.fill("needs_unfinished", "one" if len(broken) == 1 else "many", names=", ".join(broken))


def cancelled_before_start() -> Words:
    return W("cancelled_before_start")


def cancelled_before_saved(item_id: str) -> Words:
    return W.fill("cancelled_before_saved", item_id=item_id)


def cancelled_while(item_id: str) -> Words:
    """A cancel the item noticed mid-work (harness.context): nothing of it was saved."""
    return W.fill("cancelled_while", item_id=item_id)


def program_message(message: str) -> Words:
    """An exception's own text, English and untranslatable, under a lead in each language."""
    return W.fill("program_message", message=message)


def unit_broken(key: str, status: str, inner: Words | None, inner_error: str | None) -> Words:
    """One of an item's units did not finish: the item fails (or is cancelled) with the unit's reason."""
    said = STATUS.get(status) or {lang: status for lang in LANGS}
    reason = inner or W.fill("unit_error", message=inner_error or "")
    return W.fill("unit_broken", key=key, status=said, reason=reason)


def worker_died(error: BaseException) -> Words:
    return W.fill("worker_died", what=f"{type(error).__name__}: {error}")


def cannot_save(why: str, folder: str) -> Words:
    """The disk refused the result; `folder` is the run's own name, never a machine path (the page shows it)."""
    return W.fill("cannot_save", why=why, folder=folder)


def kept_last_good(finished: str) -> Words:
    return W.fill("kept_last_good", finished=finished)


def result_not_trusted(why: str) -> Words:
    return W.fill("result_not_trusted", why=why)


def result_altered(where: str) -> Words:
    """A file of a stored result is missing or changed; `where` is inside the run folder."""
    return W.fill("result_altered", where=where)


def reused_from(other: str) -> Words:
    return W.fill("reused_from", other=other)


def not_canonical() -> Words:
    return W("not_canonical")


def joined(first: Words, then: Words | None) -> Words:
    """Two sentences as one line, "first; then" (a failure and what was kept)."""
    return first if not then else {lang: f"{first[lang]}; {then[lang]}" for lang in first}
