"""submission.ipynb: the handout's "brief notebook", built with nbformat from the content model.

Markdown cells carry the summaries, answers and conclusions; code cells load
this run's results from the folder the notebook sits in and show its figures
and tables, so it executes top to bottom offline.
"""
from __future__ import annotations

import html
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from harness.report.content import RunView, format_value
from harness.run.store import atomic_write_text

LOADER = '''import json
from pathlib import Path
from IPython.display import Image, Markdown, display

RUN = Path(".").resolve()  # the notebook sits in its run folder
manifest = json.loads((RUN / "manifest.json").read_text(encoding="utf-8"))
LANG = {lang!r}

def result(item_id):
    path = RUN / "items" / item_id / "result.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

def pick(text):
    return text.get(LANG, text.get("en", "")) if isinstance(text, dict) else (text or "")

def table_md(table):
    head = [pick(c) for c in table["columns"]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table["rows"]]
    return "\\n".join(lines)

def show(item_id):
    """Metrics, figures, tables and checks of one item, read from the run folder."""
    r = result(item_id)
    if r is None or r.get("status") != "ok":
        print(item_id, "not run:", (r or {{}}).get("error") or "no result in this run")
        return
    for name, m in r["metrics"].items():
        print(f"{{name:32s}} {{m['value']}} {{m.get('unit') or ''}}")
    for fig in r["figures"]:
        display(Image(filename=str(RUN / "items" / item_id / fig["file"]), width=560))
        display(Markdown("*" + pick(fig["caption"]) + "*"))
    for table in r["tables"].values():
        display(Markdown("**" + pick(table["caption"]) + "**\\n\\n" + table_md(table)))
    failed = [c["name"] for c in r["checks"] if not c["passed"]]
    print(f"checks: {{len(r['checks']) - len(failed)}}/{{len(r['checks'])}} pass" + (f"; failing: {{failed}}" if failed else ""))
'''

SCORECARD = '''rows = []
for item_id, entry in manifest["items"].items():
    r = result(item_id) or {}
    checks = r.get("checks", [])
    rows.append(f"| {item_id} | {entry['status']} | {sum(c['passed'] for c in checks)}/{len(checks)} | {entry.get('timing', {}).get('wall_s', 0):.1f} s |")
display(Markdown("| item | status | checks | wall time |\\n|---|---|---|---|\\n" + "\\n".join(rows)))
'''


def _inert(markdown_text: str) -> str:
    """Jupyter renders raw HTML inside Markdown; escape it so an answer can't inject any."""
    return html.escape(markdown_text, quote=False)


def build_notebook(view: RunView) -> nbformat.NotebookNode:
    s = view.s
    title = view.title
    members = ", ".join(title.members) if title.team_configured else s["team_not_configured"]
    cells = [new_markdown_cell(
        f"# {_inert(title.assignment)}\n\n"
        f"**{_inert(title.course)}**  \n"
        f"{s['team']}: {_inert(members)}  \n"
        f"{s['run']}: `{view.run_id}` · {s['profile']}: `{view.profile}`\n\n{s['notebook_intro']}")]
    cells.append(new_markdown_cell(f"## {s['notebook_load']}"))
    cells.append(new_code_cell(LOADER.format(lang=view.lang)))
    cells.append(new_markdown_cell(f"## {s['scorecard']}\n\n{s['scorecard_intro']}"))
    cells.append(new_code_cell(SCORECARD))
    for prefix, heading, items in view.sections:
        cells.append(new_markdown_cell(f"## {heading}"))
        for it in items:
            text = f"### {it.id} · {_inert(it.title)}\n\n"
            if it.summary:
                text += f"**{s['summary']}.** {_inert(it.summary)}\n\n"
            if it.answer_md:
                text += f"**{s['written_answer']}.**\n\n{_inert(it.answer_md)}\n"
            elif not it.ran:
                text += f"*{s['not_run']}.* {s['run_it']}: `{it.command}`\n"
            cells.append(new_markdown_cell(text))
            if it.ran:
                cells.append(new_code_cell(f'show("{it.id}")'))
    passed, total = view.all_checks
    verdict = s["all_checks_pass"] if passed == total else s["some_checks_fail"]
    cells.append(new_markdown_cell(f"## {s['conclusions']}\n\n{s['checks']}: {passed}/{total}. {verdict}\n\n"
                                   + "\n".join(f"- **{it.id}** {_inert(it.title)}: "
                                               + ", ".join(f"`{m['name']}` = {format_value(m['value'])}" for m in it.headline_metrics)
                                               for it in view.items if it.ran and it.headline_metrics)))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    return nb


def write_notebook(view: RunView, out: Path) -> Path:
    nb = build_notebook(view)
    nbformat.validate(nb)
    atomic_write_text(out, nbformat.writes(nb))
    return out


def execute_notebook(path: Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Run every cell top to bottom in the notebook's own folder (what a grader does)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb
