"""The report's closing parts: conclusions bound to the run's numbers, and the references it cites.

Every sentence is a template from strings.toml ("concl_*") filled with values the run saved
(the comparison item's metrics and rows, the manifest's settings and environment), so the
conclusions say only what this run measured, in both languages. A sentence whose numbers the
run lacks is left out, never filled with a guess.
"""
from __future__ import annotations

from html import escape
from typing import Any

from harness.locale import num
from harness.words import names
from harness.report.compare_words import family_sentence
from harness.report.content import RunView, format_value

# Cited in the text as [n]: strings.toml's section intros and conclusions use these numbers.
REFERENCES = (
    "D. P. Kingma, M. Welling. Auto-Encoding Variational Bayes. International Conference on Learning "
    "Representations (ICLR), 2014.",
    "I. J. Goodfellow, J. Pouget-Abadie, M. Mirza, B. Xu, D. Warde-Farley, S. Ozair, A. Courville, Y. Bengio. "
    "Generative Adversarial Nets. Advances in Neural Information Processing Systems 27 (NIPS), 2014.",
    "A. Radford, L. Metz, S. Chintala. Unsupervised Representation Learning with Deep Convolutional Generative "
    "Adversarial Networks. International Conference on Learning Representations (ICLR), 2016.",
    "V. Dumoulin, F. Visin. A guide to convolution arithmetic for deep learning. arXiv preprint 1603.07285, 2016.",
    "M. Heusel, H. Ramsauer, T. Unterthiner, B. Nessler, S. Hochreiter. GANs Trained by a Two Time-Scale Update "
    "Rule Converge to a Local Nash Equilibrium. Advances in Neural Information Processing Systems 30 (NIPS), 2017.",
    "Y. Burda, R. Grosse, R. Salakhutdinov. Importance Weighted Autoencoders. International Conference on "
    "Learning Representations (ICLR), 2016.",
    "T. Kynkäänniemi, T. Karras, S. Laine, J. Lehtinen, T. Aila. Improved Precision and Recall Metric for "
    "Assessing Generative Models. Advances in Neural Information Processing Systems 32 (NeurIPS), 2019.",
    "M. F. Naeem, S. J. Oh, Y. Uh, Y. Choi, J. Yoo. Reliable Fidelity and Diversity Metrics for Generative "
    "Models. International Conference on Machine Learning (ICML), 2020.",
)


def _say(template: str, lang: str, **values: Any) -> str:
    """A strings.toml sentence with the run's values in it: numbers in the language's convention,
    everything escaped (a model name is run data, not markup)."""
    shown = {k: escape(names(v, lang) if isinstance(v, str) else format_value(v, lang)) for k, v in values.items()}
    return names(template.format(**shown), lang)


def _num(value: Any, digits: int, lang: str) -> str:

    return num(value, digits, lang)


def conclusions(view: RunView) -> list[str]:
    """Paragraphs (HTML-safe) of the Conclusions section."""
    s, lang = view.s, view.lang
    out: list[str] = []
    cmp_item = view.showing("comparison")
    m = {x["name"]: x["value"] for x in cmp_item.metrics} if cmp_item and cmp_item.ran else {}
    if {"best_vae_fid", "best_gan_fid", "best_vae_model", "best_gan_model"} <= m.keys():
        vae_fid, gan_fid = float(m["best_vae_fid"]), float(m["best_gan_fid"])
        vae_se, gan_se = m.get("best_vae_fid_se"), m.get("best_gan_fid_se")
        # The verdict eval.compare recorded (no ranking of a family that draws no digits), worded, never re-decided.
        record = cmp_item.values.get("family_verdict")
        n_samples = (view.manifest.get("config", {}).get("eval") or {}).get("n_samples")
        out.append(_say(s["concl_fid"], lang, n_models=m.get("n_models", "?"), n_samples=_num(n_samples, 0, lang)
                        if isinstance(n_samples, int) else "?",
                        vae_model=str(m["best_vae_model"]), vae_fid=_num(vae_fid, 2, lang),
                        gan_model=str(m["best_gan_model"]), gan_fid=_num(gan_fid, 2, lang),
                        vae_se=_num(vae_se, 2, lang) if vae_se is not None else "?",
                        gan_se=_num(gan_se, 2, lang) if gan_se is not None else "?",
                        verdict=family_sentence(record, lang) if record else ""))
        if isinstance(m.get("fid_floor"), (int, float)) and m["fid_floor"] > 0:
            out.append(_say(s["concl_floor"], lang, floor=_num(m["fid_floor"], 2, lang),
                            times=_num(min(vae_fid, gan_fid) / m["fid_floor"], 1, lang)))
        # Density and coverage: the fidelity and diversity metrics that pass the evaluator's references.
        keys = ("best_vae_density", "best_vae_coverage", "best_gan_density", "best_gan_coverage")
        if all(isinstance(m.get(k), (int, float)) for k in keys):
            out.append(_say(s["concl_density_coverage"], lang, **{k: _num(m[k], 3, lang) for k in keys}))
        missing = m.get("n_models_missing_digits")
        if isinstance(missing, int):
            models = ", ".join(cmp_item.values.get("models_missing_digits") or [])
            key = "concl_no_collapse" if not missing else "concl_collapse_one" if missing == 1 else "concl_collapse"
            out.append(_say(s[key], lang, n=missing, models=models))
        rows = [r for r in (cmp_item.values.get("comparison") or []) if isinstance(r, dict)]
        vae_row = next((r for r in rows if r.get("model") == m["best_vae_model"]), {})
        if isinstance(vae_row.get("nll"), (int, float)):
            out.append(_say(s["concl_likelihood"], lang, model=str(vae_row["model"]), nll=_num(vae_row["nll"], 1, lang)))
    else:
        out.append(_say(s["concl_no_compare"], lang))
    out.extend(limits(view))
    return out


def limits(view: RunView) -> list[str]:
    """What the numbers do not show: one run per model, the profile's budget, the machine."""
    s, lang = view.s, view.lang
    config = view.manifest.get("config", {})
    out = [_say(s["concl_single_run"], lang, seed=str(config.get("seed", "?")))]
    if view.profile != "full":
        vae, gan = config.get("vae") or {}, config.get("gan") or {}
        n_train = (config.get("data") or {}).get("n_train")
        out.append(_say(s["concl_profile"], lang, profile=view.profile,
                        epochs=str(vae.get("epochs", "?")), steps=_num(gan.get("steps"), 0, lang) if gan.get("steps") else "?",
                        n_train=_num(n_train, 0, lang) if isinstance(n_train, int) else "60 000" if lang == "es" else "60,000"))
    env = view.manifest.get("environment") or {}
    if env:
        # The sentence names the device that trained: an accelerator when the run recorded one.
        accelerators = env.get("accelerators") or []
        template = s["concl_machine_gpu"] if accelerators else s["concl_machine"]
        out.append(_say(template, lang, cpu=str(env.get("cpu") or "?"), cores=str(env.get("cpu_count") or "?"),
                        backend=str(env.get("backend") or "?"), accelerators=", ".join(accelerators)))
    passed, total = view.all_checks
    if total:
        out.append(_say(s["concl_checks"], lang, passed=str(passed), total=str(total)))
    if view.checks_not_graded:
        out.append(_say(s["checks_not_graded"], lang, n=str(view.checks_not_graded)))
    return out
