"""Writes the hosted-notebook quick start, notebooks/colab.ipynb (Spanish) and colab.en.ipynb (English).

    python -m notebooks.build

One source for both languages: the code cells are the same, the words differ. The notebook
clones this repository from the URL the user writes in its first cell, installs it without
touching the hosted runtime's TensorFlow or JAX (`pip install -e .`, README "Install"), runs
`full` on the GPU and shows the report and the submission notebook. It reaches nothing but the
repository and PyPI; tests/test_notebooks.py checks that and that the files match this script.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
FILES = {"es": HERE / "colab.ipynb", "en": HERE / "colab.en.ipynb"}

WORDS = {
    "es": {
        "intro": "# INF-395 Tarea 3 §1 en un cuaderno con GPU\n\n"
                 "Este cuaderno clona el repositorio del proyecto, lo instala sin reemplazar el TensorFlow ni el JAX "
                 "que el entorno ya trae, ejecuta los 20 ítems a la escala del enunciado (perfil `full`) en la GPU y "
                 "muestra el informe y el cuaderno de entrega.\n\n"
                 "1. *Entorno de ejecución → Cambiar tipo de entorno de ejecución → GPU*.\n"
                 "2. Escribe en la primera celda la URL del repositorio (`REPO_URL`) y, si quieres, los integrantes.\n"
                 "3. *Entorno de ejecución → Ejecutar todas*. El perfil `full` tarda minutos en una GPU grande y más "
                 "en la de un entorno gratuito (tiempos medidos en `benchmarks/RESULTS.md`); `quick` es una "
                 "demostración más breve.",
        "settings": "# Edita estas líneas y ejecuta la celda.\n"
                    "REPO_URL = \"\"  # la URL del repositorio, la que muestra el botón Code de GitHub (https://…)\n"
                    "BRANCH = \"\"  # vacío: la rama por omisión del repositorio\n"
                    "PROFILE = \"full\"  # full: la escala del enunciado; quick: una demostración breve\n"
                    "TEAM = []  # los integrantes para la portada, por ejemplo [\"Ana Pérez\", \"Beto Soto\"]",
        "no_url": "REPO_URL está vacío: escribe en la primera celda la URL del repositorio (https://…) y ejecútala de nuevo.",
        "no_gpu": "Sin GPU: elige Entorno de ejecución → Cambiar tipo de entorno de ejecución → GPU; "
                  "en la CPU el perfil full tarda más de una hora.",
        "install": "## Instalación\n\n`pip install -e .` agrega solo lo que falta (Keras 3, las bibliotecas del informe "
                   "y del panel). El TensorFlow y el JAX del entorno quedan como estaban: la celda muestra sus versiones "
                   "antes y después.",
        "kept": "sin cambios",
        "changed": "CAMBIÓ",
        "run": "## Ejecución\n\nEl arnés elige por sí solo el backend de Keras que ve la GPU y lo dice en la primera línea; "
               "cada ítem termina con el dispositivo en que se calculó. Una segunda ejecución reutiliza lo ya calculado.",
        "report": "## Informe",
        "lang_suffix": "",
        "notebook": "## Cuaderno de entrega\n\nLas celdas del cuaderno que se entrega, con sus figuras. "
                    "La última celda descarga el informe y la carpeta de la entrega (submission.zip: súbela al repositorio del equipo).",
        "download": "## Descarga",
    },
    "en": {
        "intro": "# INF-395 Assignment 3 §1 in a GPU notebook\n\n"
                 "This notebook clones the project's repository, installs it without replacing the TensorFlow or JAX "
                 "the runtime already has, runs the 20 items at the handout's scale (profile `full`) on the GPU and "
                 "shows the report and the submission notebook.\n\n"
                 "1. *Runtime → Change runtime type → GPU*.\n"
                 "2. Write the repository's URL (`REPO_URL`) in the first cell and, if you like, the team members.\n"
                 "3. *Runtime → Run all*. The `full` profile takes minutes on a large GPU and longer on a free "
                 "runtime's (measured times in `benchmarks/RESULTS.md`); `quick` is a shorter demo.",
        "settings": "# Edit these lines and run the cell.\n"
                    "REPO_URL = \"\"  # the repository's URL, as GitHub's Code button shows it (https://…)\n"
                    "BRANCH = \"\"  # empty: the repository's default branch\n"
                    "PROFILE = \"full\"  # full: the handout's scale; quick: a short demo\n"
                    "TEAM = []  # the members for the title page, for example [\"Ana Pérez\", \"Beto Soto\"]",
        "no_url": "REPO_URL is empty: write the repository's URL (https://…) in the first cell and run it again.",
        "no_gpu": "No GPU: choose Runtime → Change runtime type → GPU; on the CPU the full profile takes over an hour.",
        "install": "## Install\n\n`pip install -e .` adds only what is missing (Keras 3, the report's and the panel's "
                   "libraries). The runtime's TensorFlow and JAX stay as they were: the cell shows their versions "
                   "before and after.",
        "kept": "unchanged",
        "changed": "CHANGED",
        "run": "## Run\n\nThe harness picks the Keras backend that sees the GPU by itself and says so on its first line; "
               "each item ends with the device it computed on. A second run reuses what was already computed.",
        "report": "## Report",
        "lang_suffix": ".en",
        "notebook": "## Submission notebook\n\nThe cells of the notebook to hand in, with their figures. "
                    "The last cell downloads the report and the submission folder (submission.zip: commit it to the team's repository).",
        "download": "## Download",
    },
}

CLONE = '''import os
import shutil
import subprocess

START_DIR = globals().get("START_DIR") or os.getcwd()
REPO_DIR = os.path.join(START_DIR, "inf395-harness")
if not REPO_URL.strip():
    raise SystemExit({no_url!r})
if not os.path.isdir(REPO_DIR):
    branch = ["--branch", BRANCH] if BRANCH.strip() else []
    subprocess.run(["git", "clone", "--depth", "1", *branch, REPO_URL.strip(), REPO_DIR], check=True)
os.chdir(REPO_DIR)
if not shutil.which("nvidia-smi") or subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode != 0:
    print({no_gpu!r})'''

INSTALL = '''from importlib import metadata


def backend_versions():
    found = {{}}
    for name in ("tensorflow", "tensorflow-cpu", "jax", "jaxlib", "keras"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


before = backend_versions()
!pip install -q -e .
after = backend_versions()
for name in sorted(set(before) | set(after)):
    same = before.get(name) == after.get(name)
    print(f"{{name:15s}} {{before.get(name, '-'):>12s}} -> {{after.get(name, '-'):12s}} {{{kept!r} if same else {changed!r}}}")'''

RUN = '''import json

config = []
if TEAM:
    with open("team.toml", "w", encoding="utf-8") as fh:
        fh.write("[team]\\nmembers = [" + ", ".join(json.dumps(name, ensure_ascii=False) for name in TEAM) + "]\\n")
    config = ["--config", "team.toml"]
!python -m harness run --profile {{PROFILE}} --report {{" ".join(config)}}'''

REPORT = '''from pathlib import Path

from IPython.display import HTML, display

RUN_DIR = Path("reports") / PROFILE
display(HTML((RUN_DIR / "report{lang_suffix}.html").read_text(encoding="utf-8")))'''

NOTEBOOK = '''import base64

import nbformat
from IPython.display import Image, Markdown

SUBMISSION = Path("submission")  # the folder to commit: the notebook, the weights it loads, the PDFs
for cell in nbformat.read(SUBMISSION / "submission{lang_suffix}.ipynb", as_version=4).cells:
    if cell.cell_type == "markdown":
        display(Markdown(cell.source))
        continue
    display(Markdown("```python\\n" + cell.source + "\\n```"))
    for output in cell.get("outputs", []):
        data = output.get("data", {{}})
        if "image/png" in data:
            display(Image(data=base64.b64decode(data["image/png"])))
        elif "text/plain" in data or "text" in output:
            print(data.get("text/plain") or output.get("text"))'''

DOWNLOAD = '''import shutil

try:
    from google.colab import files
except ImportError:
    files = None
shutil.make_archive("submission", "zip", root_dir=".", base_dir="submission")  # the folder to commit
for name in (RUN_DIR / "report{lang_suffix}.pdf", RUN_DIR / "report{lang_suffix}.html", Path("submission.zip")):
    if files:
        files.download(str(name))
    else:
        print(name)'''


def notebook(lang: str) -> nbformat.NotebookNode:
    w = WORDS[lang]
    cells = [
        new_markdown_cell(w["intro"], id="intro"),
        new_code_cell(w["settings"], id="settings"),
        new_code_cell(CLONE.format(**w), id="clone"),
        new_markdown_cell(w["install"], id="install-text"),
        new_code_cell(INSTALL.format(**w), id="install"),
        new_markdown_cell(w["run"], id="run-text"),
        new_code_cell(RUN.format(**w), id="run"),
        new_markdown_cell(w["report"], id="report-text"),
        new_code_cell(REPORT.format(**w), id="report"),
        new_markdown_cell(w["notebook"], id="notebook-text"),
        new_code_cell(NOTEBOOK.format(**w), id="notebook"),
        new_markdown_cell(w["download"], id="download-text"),
        new_code_cell(DOWNLOAD.format(**w), id="download"),
    ]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "accelerator": "GPU",  # Colab opens it asking for a GPU runtime
        "colab": {"provenance": [], "gpuType": "T4"},
    })
    nbformat.validate(nb)
    return nb


def main() -> None:
    for lang, path in FILES.items():
        path.write_text(nbformat.writes(notebook(lang)) + "\n", encoding="utf-8")
        print(path.name)


if __name__ == "__main__":
    main()
