"""submission.ipynb: the handout's "brief notebook", built with nbformat from the content model.

Laid out as the handout: a title cell, a setup cell, then per item (1.1 a-j, 1.2 a-h) one
Markdown cell (the written answer, with the run's numbers) and one code cell (the Keras
model code the run used, harness_code.model_code, and a call that shows the item's headline
figure), then conclusions and references. It is stored executed: the outputs are the run's
own PNG files and tables, embedded by the same helper code the notebook runs, so executing
it again from its run folder reproduces them without training anything.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from harness.report.answers import num
from harness.report.content import ItemView, RunView
from harness.report.notebook_code import CORE, RUNTIME, code_cell_source, helpers, model_code, setup_imports
from harness.run.store import atomic_write_text

HANDOUT_SECTIONS = ("1.1", "1.2")
TEXT = {
    "es": {
        "intro": "Cuaderno breve de la entrega (sección 1 de la Tarea 3: un VAE y una GAN sobre MNIST, en Keras 3). "
                 "Cada ítem del enunciado tiene su respuesta escrita, con los números de esta ejecución, y una celda "
                 "con el código Keras de los modelos que se entrenaron. Las figuras son las que guardó la ejecución: "
                 "el cuaderno las lee de su carpeta y no entrena nada.",
        "missing": "Este cuaderno necesita la carpeta de su ejecución: el archivo manifest.json y la carpeta items/ "
                   "junto al cuaderno.",
        "absent": "(figura no disponible: {})",
        "university": "Universidad", "course": "Asignatura", "assignment": "Tarea",
        "not_run": "No se ejecutó en esta ejecución. Para ejecutarlo:",
        "no_answer": "Sin respuesta escrita para este ítem.",
        "fig": "Figura",
        "section": "{title}: {ran} de {total} ítems ejecutados; {passed} de {checks} verificaciones se cumplen.",
        "best": "El modelo con menor FID-MNIST de la familia es «{model}» (FID-MNIST {fid}).",
        "no_compare": "La comparación entre modelos (eval.compare) no está en esta ejecución: {command}",
        "family": {"vae": "Por FID-MNIST, en esta ejecución el VAE queda por delante de la GAN.",
                   "gan": "Por FID-MNIST, en esta ejecución la GAN queda por delante del VAE."},
        "comparison": "Comparación",
        "checks": "Verificaciones de la rúbrica: {passed} de {total} se cumplen.",
        "references": "Referencias",
    },
    "en": {
        "intro": "The submission's brief notebook (section 1 of Assignment 3: a VAE and a GAN on MNIST, in Keras 3). "
                 "Each handout item has its written answer, with this run's numbers, and a cell with the Keras code "
                 "of the models that were trained. The figures are the ones the run saved: the notebook reads them "
                 "from its folder and trains nothing.",
        "missing": "This notebook needs its run folder: the manifest.json file and the items/ folder next to the "
                   "notebook.",
        "absent": "(figure not available: {})",
        "university": "University", "course": "Course", "assignment": "Assignment",
        "not_run": "Not run in this run. To run it:",
        "no_answer": "No written answer for this item.",
        "fig": "Figure",
        "section": "{title}: {ran} of {total} items ran; {passed} of {checks} checks pass.",
        "best": "The family's model with the lowest FID-MNIST is “{model}” (FID-MNIST {fid}).",
        "no_compare": "The comparison of the models (eval.compare) is not in this run: {command}",
        "family": {"vae": "By FID-MNIST, the VAE comes out ahead of the GAN in this run.",
                   "gan": "By FID-MNIST, the GAN comes out ahead of the VAE in this run."},
        "comparison": "Comparison",
        "checks": "Rubric checks: {passed} of {total} pass.",
        "references": "References",
    },
}
REFERENCES = [
    "D. P. Kingma, M. Welling. *Auto-Encoding Variational Bayes*. ICLR 2014.",
    "I. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio. "
    "*Generative Adversarial Nets*. NeurIPS 2014.",
    "A. Radford, L. Metz, S. Chintala. *Unsupervised Representation Learning with Deep Convolutional Generative "
    "Adversarial Networks* (DCGAN). ICLR 2016.",
    "V. Dumoulin, F. Visin. *A guide to convolution arithmetic for deep learning*. arXiv:1603.07285, 2016.",
    "M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. *GANs Trained by a Two Time-Scale Update "
    "Rule Converge to a Local Nash Equilibrium* (FID). NeurIPS 2017.",
    "Y. Burda, R. Grosse, R. Salakhutdinov. *Importance Weighted Autoencoders*. ICLR 2016.",
    "T. Kynkäänniemi, T. Karras, S. Laine, J. Lehtinen, T. Aila. *Improved Precision and Recall Metric for "
    "Assessing Generative Models*. NeurIPS 2019.",
    "M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo. *Reliable Fidelity and Diversity Metrics for Generative "
    "Models* (density and coverage). ICML 2020.",
]


def _inert(markdown_text: str) -> str:
    """Jupyter renders raw HTML inside Markdown; escape it so an answer can't inject any."""
    return html.escape(markdown_text, quote=False)


class Cells:
    """Cells in order, code cells stored with the outputs a run of the notebook gives."""

    def __init__(self, view: RunView) -> None:
        self.view, self.cells, self.count = view, [], 0
        self.helpers = helpers(view.folder)

    def markdown(self, text: str) -> None:
        self.cells.append(new_markdown_cell(text.strip() + "\n"))

    def code(self, source: str, outputs: list[Any] | None = None) -> None:
        self.count += 1
        for out in outputs or []:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = self.count
        self.cells.append(new_code_cell(source, execution_count=self.count, outputs=outputs or []))

    def figure_outputs(self, it: ItemView, files: list[str]) -> list[Any]:
        out = []
        for file in files:
            data, metadata = self.helpers["figure_bundle"](self.view.folder, it.id, file)
            out.append(new_output("display_data", data=data, metadata=metadata))
        return out

    def table_outputs(self, item_id: str, names: list[str]) -> list[Any]:
        out = []
        for name in names:
            data, metadata = self.helpers["table_bundle"](self.view.folder, item_id, name, self.view.lang)
            out.append(new_output("display_data", data=data, metadata=metadata))
        return out


def _title(view: RunView, t: dict[str, Any]) -> str:
    s, title = view.s, view.title
    members = ", ".join(title.members) if title.team_configured else s["team_not_configured"]
    lines = [f"# {_inert(title.assignment or t['assignment'])}", ""]
    facts = [(t["university"], title.university), (t["course"], title.course), (s["semester"], title.semester),
             (s["professor"], title.professor), (s["assistant"], title.assistant), (s["team"], members),
             (s["date"], title.date)]
    lines += [f"**{label}:** {_inert(value)}  " for label, value in facts if value]
    lines += [f"**{s['run']}:** `{view.run_id}` · {s['profile']}: `{view.profile}`", "", t["intro"]]
    return "\n".join(lines)


def _setup(view: RunView, t: dict[str, Any], code: dict[str, list[dict[str, str]]]) -> str:
    head = ["from __future__ import annotations", "", "import base64", "import html", "import json", "import os",
            "from pathlib import Path", "", "from IPython.display import display", "",
            'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow\'s C++ start-up notices off', "",
            *setup_imports(code), "",
            f"LANG = {view.lang!r}", "", ""]
    return "\n".join(head) + CORE + "\n\n" + RUNTIME.format(missing=t["missing"], absent=t["absent"])


def _item_markdown(view: RunView, t: dict[str, Any], it: ItemView, heading: str | None) -> str:
    text = f"## {heading}\n\n" if heading else ""
    text += f"### {it.id} · {_inert(it.title)}\n\n"
    if not it.ran:
        return text + f"*{t['not_run']}* `{it.command}`"
    text += _inert(it.answer_md) if it.answer_md else (_inert(it.summary) or f"*{t['no_answer']}*")
    if it.figures:
        fig = it.figures[0]
        text += f"\n\n*{t['fig']} {it.id}: {_inert(fig.caption)}*"
    return text


def _metric(it: ItemView | None, name: str) -> Any:
    return next((m["value"] for m in (it.metrics if it else []) if m["name"] == name), None)


def _conclusions(view: RunView, t: dict[str, Any]) -> str:
    s = view.s
    compare = view.showing("comparison")
    compare = compare if compare and compare.ran else None
    paragraphs = []
    for prefix, family in (("1.1", "vae"), ("1.2", "gan")):
        items = view.section(prefix)
        if not items:
            continue
        checks = [c for it in items for c in it.checks]
        text = t["section"].format(title=s[f"section_{family}"], ran=sum(it.ran for it in items), total=len(items),
                                   passed=sum(c["passed"] for c in checks), checks=len(checks))
        model, fid = _metric(compare, f"best_{family}_model"), _metric(compare, f"best_{family}_fid")
        if model is not None and isinstance(fid, (int, float)):
            text += " " + t["best"].format(model=_inert(str(model)), fid=num(fid, 2))
        paragraphs.append(text)
    best = _metric(compare, "best_family")
    if compare is None:
        missing = view.item(view.roles.get("comparison", "")) if view.roles.get("comparison") else None
        if missing is not None:
            paragraphs.append(t["no_compare"].format(command=f"`{missing.command}`"))
    elif best in t["family"]:
        paragraphs.append(t["family"][best])
    passed, total = view.all_checks
    verdict = s["all_checks_pass"] if passed == total else s["some_checks_fail"]
    paragraphs.append(t["checks"].format(passed=passed, total=total) + " " + verdict)
    text = f"## {s['conclusions']}\n\n" + "\n\n".join(paragraphs)
    if compare is not None and compare.answer_md:
        text += f"\n\n### {t['comparison']} ({compare.id})\n\n{_inert(compare.answer_md)}"
    return text


def build_notebook(view: RunView) -> nbformat.NotebookNode:
    t = TEXT[view.lang]
    code = model_code(view)
    cells = Cells(view)
    cells.markdown(_title(view, t))
    cells.code(_setup(view, t, code))
    for prefix, heading, items in view.sections:
        if prefix not in HANDOUT_SECTIONS:
            continue
        for n, it in enumerate(items):
            cells.markdown(_item_markdown(view, t, it, heading if n == 0 else None))
            if not it.ran:
                continue
            files = [str(it.figures[0].rel).split("/", 2)[2]] if it.figures else []
            if files or code[it.id]:
                cells.code(code_cell_source(it, code[it.id], files), cells.figure_outputs(it, files))
    cells.markdown(_conclusions(view, t))
    compare = view.showing("comparison")
    if compare is not None and compare.ran:
        files = [str(compare.figures[0].rel).split("/", 2)[2]] if compare.figures else []
        tables = [compare.tables[0].name] if compare.tables else []
        call = ", ".join([repr(compare.id), *map(repr, files)]) + (f", tables={tables!r}" if tables else "")
        cells.code(f"show({call})", cells.figure_outputs(compare, files) + cells.table_outputs(compare.id, tables))
    cells.markdown(f"## {t['references']}\n\n" + "\n".join(f"{n}. {ref}" for n, ref in enumerate(REFERENCES, 1)))
    return new_notebook(cells=cells.cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })


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
