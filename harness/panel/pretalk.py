"""The pre-talk check: what is missing for the talk, said before it starts.

`harness serve` prints it, one line each, and the Presentation tab shows it folded in one line
above the slides: the explorers' saved models (and which item to re-run for each), the team the
presenter draw needs, and the items that are stale, failed or not run.
"""
from __future__ import annotations

from harness.panel.state import Panel, esc
from harness.run.store import RunStore

# Runner statuses, grouped as the check words them.
GROUPS = (("pretalk_not_run", ("not run",)), ("pretalk_failed", ("failed", "skipped", "cancelled")),
          ("pretalk_stale", ("stale",)), ("pretalk_damaged", ("damaged",)))


def model_saved(store: RunStore, item_id: str) -> bool:
    """The item finished here and every model file it recorded is in the run folder."""
    result = store.load_result(item_id, verify=False)
    if not result or not result.ok or not result.models:
        return False
    return all((store.item_dir(item_id) / rel).is_file() for rel in result.models.values())


def pretalk(panel: Panel, lang: str, page: bool = True) -> list[str]:
    """One sentence per thing to fix before the talk, in `lang`; empty when nothing is missing.
    On a page an item is named by its label (1.1e, E1); in the terminal by the id `harness run` takes."""
    s, lines = panel.strings(lang), []
    name = (lambda i: panel.label(i, lang)) if page else str
    for explorer, tab in ((panel.vae, "panel_tab_vae"), (panel.gan, "panel_tab_gan")):
        if explorer.item_id is not None and not model_saved(panel.store, explorer.item_id):
            lines.append(s["pretalk_model"].format(explorer=s[tab], item=name(explorer.item_id)))
    if not panel.members():
        lines.append(s["pretalk_team"])
    statuses = panel.statuses()
    for key, states in GROUPS:
        items = [i for i, st in statuses.items() if st in states]
        if items:
            lines.append(s[key].format(items=", ".join(name(i) for i in items)))
    return lines


def pretalk_html(panel: Panel, lang: str) -> str:
    """Folded to one line so the slide below keeps the screen; opened, the list of what to fix."""
    s, lines = panel.strings(lang), pretalk(panel, lang)
    if not lines:
        return f"<div class='pretalk ok'>✓ {esc(s['pretalk_ok'])}</div>"
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return (f"<details class='pretalk'><summary>⚠ {esc(s['pretalk_title'])} ({len(lines)})</summary>"
            f"<ul>{items}</ul></details>")


def print_pretalk(panel: Panel, lang: str = "en") -> None:
    """What `harness serve` prints on start, one line each, in the language the panel opens in."""
    lines = pretalk(panel, lang, page=False) or [panel.strings(lang)["pretalk_ok"]]
    title = panel.strings(lang)["pretalk_title"]
    for line in lines:
        print(f"harness: {title}: {line}")
