"""submission/: what a team commits and sends as its GitHub link (the handout's brief notebook).

The folder holds submission.ipynb (Spanish) and submission.en.ipynb, the weights they load
(1.1e's VAE, 1.2d's G and 1.2f's best G, nothing else), the test images and loss curves of the
run (data/), the reports' PDFs the notebooks link to, and a README.md GitHub shows on the
folder's page. The notebook's code is plain Keras (templates/submission/notebook.py): it builds
every model, loads the weights and regenerates its figures; it is stored executed.

The harness's models are read from their .keras files without deserialising them
(harness.report.weights). The plain models are built by the notebook's own code and saved with
save_weights, so what the notebook loads is what that code builds.

Writing is all or nothing: everything is built in a staging folder beside the destination, the
team's own files are linked into it, and the two folders swap with renames; a record of the
files the harness wrote (.harness-files.json) tells its files from the team's.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from harness.registry import Registry
from harness.locale import num
from harness.report.answers import AnswerError, render_answer_text, variables
from harness.report.content import RunView, build
from harness.report.weights import SubmissionError, copy_weights, keras_file_weights
from harness.run.files import atomic_write_text
from harness.result import Result
from harness.run.store import RunStore
from harness.words import words

W = words(__file__)

RECORD = ".harness-files.json"
NOTEBOOKS = W("notebooks")
REPORTS = W("reports")
WEIGHTS = {"vae": "weights/vae.weights.h5", "gan": "weights/generator.weights.h5",
           "gan_best": "weights/generator_best.weights.h5"}
# The short budget a RETRAIN = True run trains with: minutes on a 2-core CPU.
RETRAIN = {"RETRAIN_IMAGES": 12000, "RETRAIN_EPOCHS": 2, "RETRAIN_STEPS": 300}
SAMPLE_SEED = 2018

# The notebook in the handout's order: ("md", item ids whose brief answers share a cell) or
# ("code", cell of templates/submission/notebook.py, the trained models it needs).
LAYOUT: list[tuple[str, Any, tuple[str, ...]]] = [
    ("md", "title", ()),
    ("code", "setup", ()),
    ("code", "data", ()),
    ("md", ("1.1a", "1.1b", "1.1c"), ()),
    ("code", "vae_model", ()),
    ("md", ("1.1d", "1.1e"), ()),
    ("code", "vae_train", ("vae",)),
    ("md", ("1.1f",), ()),
    ("code", "latent_space", ("vae",)),
    ("md", ("1.1g",), ()),
    ("code", "latent_grid", ("vae",)),
    ("md", ("1.1h", "1.1i", "1.1j"), ()),
    ("md", ("1.2a", "1.2b"), ()),
    ("code", "gan_model", ()),
    ("md", ("1.2c",), ()),
    ("code", "adversarial", ()),
    ("md", ("1.2d",), ()),
    ("code", "gan_train", ("gan",)),
    ("md", ("1.2e",), ()),
    ("code", "gan_samples", ("gan",)),
    ("md", ("1.2f", "1.2g", "1.2h"), ()),
    ("code", "gan_best", ("gan_best",)),
    ("md", "conclusions", ()),
    ("md", "references", ()),
]
# Which item's saved model each trained model is, by the role it registers (@item(shows=...)).
MODEL_ROLES = {"vae": "vae_explorer", "gan": "gan_explorer", "gan_best": "gan_improved"}
REFERENCES = [
    "D. P. Kingma, M. Welling. *Auto-Encoding Variational Bayes*. ICLR 2014.",
    "I. Goodfellow et al. *Generative Adversarial Nets*. NeurIPS 2014.",
    "A. Radford, L. Metz, S. Chintala. *Unsupervised Representation Learning with Deep Convolutional Generative "
    "Adversarial Networks*. ICLR 2016.",
    "V. Dumoulin, F. Visin. *A guide to convolution arithmetic for deep learning*. arXiv:1603.07285, 2016.",
    "Y. Burda, R. Grosse, R. Salakhutdinov. *Importance Weighted Autoencoders*. ICLR 2016.",
    "M. Heusel et al. *GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium* (FID). "
    "NeurIPS 2017.",
]


# ----------------------------------------------------------------- the notebook's code and words
def _template(name: str) -> str:
    return resources.files("harness.templates").joinpath("submission", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def code_cells() -> dict[str, str]:
    """templates/submission/notebook.py cut at its "# %% name" lines (the header comment dropped)."""
    cells: dict[str, list[str]] = {}
    current = None
    for line in _template("notebook.py").splitlines():
        if line.startswith("# %% "):
            current = line[5:].strip()
            cells[current] = []
        elif current is not None:
            cells[current].append(line)
    return {name: "\n".join(lines).strip() + "\n" for name, lines in cells.items()}


@lru_cache(maxsize=None)
def words(lang: str) -> dict[str, Any]:
    return tomllib.loads(_template(f"{lang}.toml"))


_COMMENT = re.compile(r"# @(\w+)")


def localised(source: str, lang: str) -> str:
    """The cell's "# @key" comments in the notebook's language, each on a line of its own above its
    code (GitHub shows a code cell at a fixed width and cuts what passes it)."""
    comments = words(lang)["comments"]
    out = []
    for line in source.splitlines():
        found = _COMMENT.search(line)
        if found is None:
            out.append(line)
            continue
        code = line[:found.start()].rstrip()
        indent = line[:len(line) - len(line.lstrip())]
        out.append(f"{indent}# {comments[found.group(1)]}")
        if code.strip():
            out.append(code)
    return "\n".join(out) + "\n"


@dataclass
class Settings:
    """The run's settings the code cells read, as the first code cell writes them."""

    values: dict[str, Any]

    def source(self, lang: str) -> str:
        w = words(lang)["cells"]
        head = [f"RETRAIN = False  # {w['retrain']}",
                ", ".join(RETRAIN) + " = " + ", ".join(repr(v) for v in RETRAIN.values()), "",
                f"# {w['run_settings']}"]
        body = [f"{key} = {value!r}" for key, value in self.values.items()]
        labels = "".join(f"    {key!r}: {text!r},\n" for key, text in words(lang)["words"].items())
        extra = [f"DECIMAL = {(',' if lang == 'es' else '.')!r}", f"# {w['words']}", "WORDS = {\n" + labels + "}"]
        return "\n".join(head + body + extra) + "\n\n"


def run_settings(config: dict[str, Any], best_gan: dict[str, Any] | None) -> Settings:
    vae, gan, data = config["vae"], config["gan"], config["data"]
    return Settings({
        "SEED": config["seed"], "SAMPLE_SEED": SAMPLE_SEED, "DATASET": config.get("dataset", "mnist"),
        "N_TEST": data["n_test"], "GRID_N": config["vae_compare"]["grid_n"],
        "LATENT_DIM": vae["latent_dim"], "VAE_BATCH_SIZE": vae["batch_size"], "VAE_LEARNING_RATE": vae["learning_rate"],
        "NOISE_DIM": gan["noise_dim"], "GAN_DEPTH": gan["depth"], "GAN_DROPOUT": gan["dropout"],
        "GAN_BATCH_SIZE": gan["batch_size"], "D_LR": gan["d_lr"], "G_LR": gan["g_lr"],
        "D_DECAY": gan["d_decay"], "G_DECAY": gan["g_decay"],
        # 1.2f's best G: which normalisation its layers use (a variant may replace BatchNorm), or None
        "BEST_G_NORM": best_gan["g_norm"] if best_gan else None,
    })


def plain_models(settings: Settings) -> dict[str, Any]:
    """The notebook's model cells run here, silently: encoder, decoder, vae, D, G and build_generator."""
    namespace: dict[str, Any] = {"RETRAIN": False, **RETRAIN, **settings.values, "DECIMAL": ".",
                                 "WORDS": dict(words("en")["words"])}
    with contextlib.redirect_stdout(io.StringIO()):
        for name in ("setup", "vae_model", "gan_model"):
            exec(compile(code_cells()[name], f"<submission cell {name}>", "exec"), namespace)  # noqa: S102 our own file
    return namespace


# ----------------------------------------------------------------- the harness's weights
def export_weights(store: RunStore, view: RunView, settings: Settings, folder: Path) -> set[str]:
    """The trained models the notebook loads, as plain-Keras weight files; the names of those written."""
    available = {}
    for model, role in MODEL_ROLES.items():
        it = view.showing(role)
        if it is not None and it.ran:
            result = store.load_result(it.id, verify=False)
            name = "vae" if model == "vae" else "generator"
            if result is not None and name in result.models:
                available[model] = store.item_dir(it.id) / result.models[name]
    if not available:
        return set()
    ns = plain_models(settings)
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    if "vae" in available:
        copy_weights(keras_file_weights(available["vae"], "encoder"), ns["encoder"], "1.1e's encoder")
        copy_weights(keras_file_weights(available["vae"], "decoder"), ns["decoder"], "1.1e's decoder")
        ns["vae"].save_weights(folder / WEIGHTS["vae"])
    if "gan" in available:
        copy_weights(keras_file_weights(available["gan"]), ns["G"], "1.2d's G")
        ns["G"].save_weights(folder / WEIGHTS["gan"])
    if "gan_best" in available and settings.values["BEST_G_NORM"] is not None:
        layers = ns["layers"]
        norm = layers.LayerNormalization if settings.values["BEST_G_NORM"] == "layer" else layers.BatchNormalization
        best = ns["build_generator"](settings.values["NOISE_DIM"], settings.values["GAN_DEPTH"], norm_layer=norm)
        copy_weights(keras_file_weights(available["gan_best"]), best, "1.2f's best G")
        best.save_weights(folder / WEIGHTS["gan_best"])
    return set(available)


def best_gan(view: RunView) -> dict[str, Any] | None:
    it = view.showing(MODEL_ROLES["gan_best"])
    if it is None or not it.ran or "best" not in it.values:
        return None
    best = it.values["best"]
    changes = (it.values.get("variants", {}).get(best) or {}).get("changes", {})
    return {"g_norm": changes.get("g_norm", "batch")}


def write_data(store: RunStore, view: RunView, folder: Path) -> None:
    """data/mnist_test.npz (the run's test images) and data/history.json (its loss curves)."""
    import numpy as np

    from harness.data import load_dataset

    manifest = view.manifest
    recorded = manifest.get("dataset", {})
    ds = load_dataset(recorded.get("name", "mnist"))
    if recorded.get("checksums") and ds.checksums != recorded["checksums"]:
        raise SubmissionError(f"the run's data ({recorded.get('source', '?')}) is not this machine's "
                              f"{recorded.get('name', 'mnist')}; write the submission where the run was made")
    n_test = manifest["config"]["data"]["n_test"]
    (folder / "data").mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "data" / "mnist_test.npz", x_test=ds.x_test[:n_test], y_test=ds.y_test[:n_test])
    history: dict[str, Any] = {"vae": {"loss": [], "val_loss": []}, "gan": {"d": [], "g": []}}
    vae = view.showing(MODEL_ROLES["vae"])
    if vae is not None and vae.ran:
        history["vae"] = {k: [round(float(v), 4) for v in vae.values["history"][k]] for k in ("loss", "val_loss")}
    gan = view.showing(MODEL_ROLES["gan"])
    if gan is not None and gan.ran:
        result = store.load_result(gan.id, verify=False)
        columns = list(gan.values["history_columns"])
        values = np.load(store.item_dir(gan.id) / result.arrays["history"], allow_pickle=False)
        history["gan"] = {short: [round(float(v), 4) for v in values[:, columns.index(f"{short}_loss")]]
                          for short in ("d", "g")}
    atomic_write_text(folder / "data" / "history.json", json.dumps(history, separators=(",", ":")))


# ----------------------------------------------------------------- the cells
def _brief(view: RunView, it_id: str, registry: Registry, results: dict[str, Result]) -> str:
    it = view.item(it_id)
    heading = f"### {it_id} · {it.title}\n\n" if it is not None else f"### {it_id}\n\n"
    if it is None or not it.ran:
        command = it.command if it is not None else f"harness run {it_id}"
        return heading + f"*{words(view.lang)['cells']['not_run']}* `{command}`"
    reg_item = registry.items.get(it_id)
    module_file = reg_item.source_file if reg_item is not None else None
    path = Path(module_file).parent / "answers" / view.lang / "brief.toml" if module_file else None
    texts = tomllib.loads(path.read_text(encoding="utf-8")) if path and path.exists() else {}
    if it_id not in texts:
        raise SubmissionError(f"item {it_id} has no brief answer in {view.lang} (answers/{view.lang}/brief.toml)")
    config, profile = view.manifest.get("config", {}), view.profile
    try:
        return heading + render_answer_text(texts[it_id], variables(it_id, results, config, profile),
                                            f"{it_id} brief answer", view.lang).strip()
    except AnswerError as exc:
        raise SubmissionError(str(exc)) from None


def _title(view: RunView) -> str:
    w, t = words(view.lang)["cells"], view.title
    lines = [f"# {t.assignment}", "", f"**{t.university}** · {t.course} · {t.semester}", ""]
    members = ", ".join(t.members) if t.team_configured else w["not_configured"]
    lines += [f"**{w['team']}:** {members}  ", f"**{w['date']}:** {t.date}", ""]
    if view.profile != "full":
        cfg = view.manifest.get("config", {})
        epochs = cfg["vae"]["epochs"]
        what = w["budget_what"].format(epochs=f"{epochs} {w['epochs'][epochs != 1]}", n_train=num(cfg["data"]["n_train"], 0, view.lang),
                                       steps=num(cfg["gan"]["steps"], 0, view.lang))
        lines += ["> " + w["budget"].format(profile=view.profile, what=what), ""]
    return "\n".join(lines) + "\n" + w["intro"]


def build_submission_notebook(view: RunView, registry: Registry, settings: Settings, trained: set[str]) -> Any:
    w = words(view.lang)["cells"]
    results = view.results
    compare = view.showing("comparison")
    cells = []
    for kind, what, needs in LAYOUT:
        if kind == "code":
            if not set(needs) <= trained:
                continue
            source = localised(code_cells()[what], view.lang)
            cells.append(new_code_cell(settings.source(view.lang) + source if what == "setup" else source))
        elif what == "title":
            cells.append(new_markdown_cell(_title(view)))
        elif what == "conclusions":
            # Missing, the conclusions need the whole run: its command, not the comparing item's id.
            body = _brief(view, compare.id, registry, results).split("\n\n", 1)[1] if compare is not None and compare.ran \
                else f"*{w['not_run']}* `{view.command}`"
            cells.append(new_markdown_cell(f"## {w['conclusions']}\n\n{body}"))
        elif what == "references":
            cells.append(new_markdown_cell(f"## {w['references']}\n\n" + "\n".join(f"{n}. {r}" for n, r in enumerate(REFERENCES, 1))))
        else:
            section = {"1.1a": view.s["section_vae"], "1.2a": view.s["section_gan"]}.get(what[0])
            text = (f"## {section}\n\n" if section else "") + "\n\n".join(_brief(view, i, registry, results) for i in what)
            cells.append(new_markdown_cell(text))
    for n, cell in enumerate(cells):
        cell["id"] = f"cell-{n + 1}"
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})




def execute(nb: Any, folder: Path, backend: str | None = None, timeout: int = 900) -> Any:
    """Runs every cell in `folder` as a grader's fresh kernel does; the outputs stay in the notebook.
    Python's warnings (stderr) are left out of what is stored: they are the machine's, not the work's.

    `backend`: the Keras backend the run trained with. The kernel inherits this process's
    environment, and `harness report` imports Keras on its NumPy backend (it trains nothing),
    which cannot run a training cell; a student's kernel has Keras's default instead."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
           "KERAS_BACKEND": backend if backend and backend != "numpy" else None}
    saved = {k: os.environ.get(k) for k in env}
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    except CellExecutionError as exc:
        cell = next((c for c in nb.cells if c.cell_type == "code"
                     and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        where = (cell.source.splitlines() or ["?"])[0][:60] if cell is not None else "?"
        raise SubmissionError(f"the submission notebook stopped at the cell starting {where!r}: {exc.ename}: "
                              f"{exc.evalue}; the previous submission/ folder is unchanged") from None
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    return nb


def _readme(view: RunView, langs: tuple[str, ...]) -> str:
    lang = "es" if "es" in langs else langs[0]
    w, t = words(lang)["readme"], view.title
    team = ", ".join(t.members) if t.team_configured else words(lang)["cells"]["not_configured"]
    return f"# {w['title']}\n\n" + w["body"].format(team=team, profile=view.profile) + "\n"


# ----------------------------------------------------------------- the folder
def default_folder(store: RunStore) -> Path:
    """submission/ beside the reports folder: the project root for the default `reports/`."""
    return store.root.resolve().parent / "submission"


def _recorded(folder: Path) -> set[str]:
    try:
        return set(json.loads((folder / RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return set()


def _restore(dest: Path) -> None:
    """A swap killed between its two renames left the previous folder aside: put it back; sweep leftovers."""
    parent = dest.parent
    old = sorted(parent.glob(f".{dest.name}.old-*"))
    if not dest.exists() and old:
        old[-1].rename(dest)
        old = old[:-1]
    for leftover in [*old, *parent.glob(f".{dest.name}.tmp-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def write_submission(store: RunStore, registry: Registry, dest: Path | None = None,
                     langs: tuple[str, ...] = ("es", "en"), reports: dict[str, Path] | None = None,
                     run_cells: bool = True) -> Path:
    """Writes `dest` (default: default_folder) whole, or leaves the previous one as it was."""
    dest = Path(dest) if dest is not None else default_folder(store)
    if dest.exists() and not dest.is_dir():
        raise SubmissionError(f"{dest} is a file, not a folder; move it or pick another --submission folder")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _restore(dest)
    except OSError as exc:
        raise SubmissionError(f"{dest.parent}: cannot write the submission there ({exc.strerror}); pick a writable "
                              f"--submission folder") from None
    stage = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage.mkdir()
        views = {lang: build(store, registry, lang) for lang in langs}
        first = views[langs[0]]
        settings = run_settings(first.manifest["config"], best_gan(first))
        trained = export_weights(store, first, settings, stage)
        write_data(store, first, stage)
        written = {WEIGHTS[m] for m in trained} | {"data/mnist_test.npz", "data/history.json", "README.md"}
        for lang in langs:
            source = (reports or {}).get(lang) or store.dir / REPORTS[lang]
            if source.is_file():
                shutil.copy2(source, stage / REPORTS[lang])
                written.add(REPORTS[lang])
        for lang, view in views.items():
            nb = build_submission_notebook(view, registry, settings, trained)
            if run_cells:
                execute(nb, stage, first.manifest.get("environment", {}).get("backend"))
            nbformat.validate(nb)
            (stage / NOTEBOOKS[lang]).write_text(nbformat.writes(nb), encoding="utf-8")
            written.add(NOTEBOOKS[lang])
        (stage / "README.md").write_text(_readme(first, langs), encoding="utf-8")
        (stage / RECORD).write_text(json.dumps(sorted(written), indent=1) + "\n", encoding="utf-8")
        ours = _recorded(dest) | {RECORD}
        if dest.is_dir():
            for path in dest.rglob("*"):
                rel = path.relative_to(dest).as_posix()
                if path.is_file() and rel not in ours and not (stage / rel).exists():
                    (stage / rel).parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(path, stage / rel)  # the team's own file, kept as it is
                    except OSError:
                        shutil.copy2(path, stage / rel)
        old = dest.parent / f".{dest.name}.old-{os.getpid()}"
        if dest.exists():
            dest.rename(old)
        stage.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise SubmissionError(f"{dest}: the submission could not be written ({exc.strerror or exc}); the previous "
                              f"folder is unchanged; free space or pick a writable --submission folder") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return dest
