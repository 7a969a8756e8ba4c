"""The runner's own sentences about an item that did not finish, in each language.

The terminal prints an outcome's `error` (English, as the CLI always did); the panel and the
report show its `words` in the page's language. An exception's own message (an item's
ItemFailed, a Python error) cannot be translated: it is given as the program's message, under
a lead sentence in the page's language.
"""
from __future__ import annotations

from typing import Any

Words = dict[str, str]

STATUS = {"failed": {"es": "falló", "en": "failed"}, "cancelled": {"es": "se canceló", "en": "cancelled"},
          "skipped": {"es": "se omitió", "en": "skipped"}}


def pick(words: Any, lang: str) -> str | None:
    """`words` in `lang` when it is a {"es", "en"} dict; None otherwise (a run from before kept only English)."""
    return words.get(lang) or words.get("en") if isinstance(words, dict) else None


def needs_unfinished(broken: list[str]) -> Words:
    names = ", ".join(broken)
    return {"es": f"necesita {names}, que no terminó" if len(broken) == 1 else f"necesita {names}, que no terminaron",
            "en": f"needs {names}, which did not finish"}


def cancelled_before_start() -> Words:
    return {"es": "cancelado antes de empezar", "en": "cancelled before it started"}


def cancelled_before_saved(item_id: str) -> Words:
    return {"es": f"el ítem {item_id} se canceló antes de guardar su resultado",
            "en": f"item {item_id} cancelled before its result was saved"}


def cancelled_while(item_id: str, message: str) -> Words:
    """A cancel the item noticed mid-work (harness.context): nothing of it was saved."""
    return {"es": f"el ítem {item_id} se canceló mientras trabajaba; no se guardó nada", "en": message}


def program_message(message: str) -> Words:
    """An exception's own text, English and untranslatable, under a lead in each language."""
    return {"es": f"mensaje del programa (en inglés): {message}", "en": f"the program's message: {message}"}


def unit_broken(key: str, status: str, inner: Words | None, inner_error: str | None) -> Words:
    """One of an item's units did not finish: the item fails (or is cancelled) with the unit's reason."""
    said = {lang: STATUS.get(status, {}).get(lang, status) for lang in ("es", "en")}
    reason = inner or {"es": program_message(inner_error or "")["es"], "en": inner_error or ""}
    return {"es": f"su unidad {key} {said['es']}: {reason['es']}", "en": f"its unit {key} {said['en']}: {reason['en']}"}


def worker_died(error: BaseException) -> Words:
    what = f"{type(error).__name__}: {error}"
    return {"es": f"su proceso de trabajo terminó de golpe ({what}); vuelva a correrlo, con --jobs 1 si se repite",
            "en": f"its worker process ended abruptly ({what}); rerun it, with --jobs 1 if it happens again"}


def cannot_save(why: str, folder: str) -> Words:
    """The disk refused the result; `folder` is the run's own name, never a machine path (the page shows it)."""
    return {"es": f"no se pudo guardar su resultado ({why}); libere espacio o corrija los permisos de la corrida "
                  f"'{folder}' y vuelva a correrlo; se conserva el resultado anterior, si lo había",
            "en": f"cannot save its result ({why}); free space or fix permissions of run '{folder}' and rerun; "
                  f"any earlier result is kept"}


def kept_last_good(finished: str) -> Words:
    return {"es": f"se conserva el último resultado bueno (terminado {finished})",
            "en": f"the last good result (finished {finished}) is kept"}


def joined(first: Words, then: Words | None) -> Words:
    """Two sentences as one line, "first; then" (a failure and what was kept)."""
    return first if not then else {lang: f"{first[lang]}; {then[lang]}" for lang in first}
