"""What a reader sees of an item's numbers: the report's headline table, by label, never by id."""
from harness.report.content import build


def unlabelled_headlines(store, registry) -> list[tuple[str, str, str]]:
    """(language, item, metric) for each headline number that would be named by its note alone."""
    return [(lang, item.id, m["name"]) for lang in ("es", "en") for item in build(store, registry, lang).items
            if item.ran for m in item.shown_metrics if not m["label"]]
