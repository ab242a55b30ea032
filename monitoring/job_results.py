"""A Job's result in words, for the job pages: one summary sentence, counts as a table, what went
wrong row by row, and whether a finished job is a success or done with problems. Never JSON.

Each kind of job writes its own result shape (monitoring.cycle.round_result for tracking rounds
and refreshes, catalog.services.products_import for adding and importing products,
marketplaces.services.listings_publish for publishing, store syncs a summary line); anything else
is shown as labelled values.
"""

from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.text import capfirst

from .models import Job, JobStatus

IMPORT_TYPES = ("add_products", "import_csv")
ROUND_TYPES = ("track_products", "refresh_product")
PUBLISH_TYPES = ("publish_listings",)
IMPORT_COUNTS = (
    # result key, singular, plural
    ("added", "added", "added"),
    ("tracking", "now tracked", "now tracked"),
    ("already_tracked", "already tracked", "already tracked"),
    ("error", "refused", "refused"),
)
DONE_WITH_PROBLEMS = "Done with problems"
LIST_PREVIEW = 20  # items of a list shown in a labelled value before "and N more"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 product", "3 products": a count with its noun."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


@dataclass
class ResultView:
    """What the job pages show of a result."""

    summary: str = ""
    problems: bool = False
    counts: list = field(default_factory=list)  # (label, number)
    failures: list = field(default_factory=list)  # {"what", "url", "label", "reason"}
    outcomes: list = field(default_factory=list)  # {"what", "url", "label", "reason"}: every item's outcome
    facts: list = field(default_factory=list)  # (label, text)
    report_url: str = ""


def _label(key) -> str:
    return capfirst(str(key).replace("_", " "))


def _text(value) -> str:
    """A value of a result in words: lists and mappings as items, never JSON."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        shown = ", ".join(_text(item) for item in value[:LIST_PREVIEW])
        more = len(value) - LIST_PREVIEW
        return f"{shown} and {more} more" if more > 0 else shown
    if isinstance(value, dict):
        if not value:
            return "none"
        items = list(value.items())
        shown = "; ".join(f"{_label(key)}: {_text(item)}" for key, item in items[:LIST_PREVIEW])
        more = len(items) - LIST_PREVIEW
        return f"{shown} and {more} more" if more > 0 else shown
    return str(value)


def _product_url(product_id) -> str:
    return reverse("catalog:product_detail", args=[product_id]) if product_id else ""


def _round(job: Job, result: dict) -> ResultView:
    from monitoring.cycle import OUTCOME_LABELS, round_refreshed

    counts = result.get("counts") or {}
    products = result.get("products", 0)
    view = ResultView(summary=result.get("summary", ""))
    view.counts = [(capfirst(OUTCOME_LABELS.get(status, status)), n) for status, n in sorted(counts.items()) if n]
    view.failures = [
        {
            "what": failure.get("product") or f"Product {failure.get('product_id')}",
            "url": _product_url(failure.get("product_id")),
            "label": capfirst(failure.get("label") or failure.get("status", "")),
            "reason": failure.get("reason", ""),
        }
        for failure in result.get("failures") or []
    ]
    for outcome in result.get("outcomes") or []:
        status = outcome.get("status", "")
        changes = []
        if outcome.get("price_changed"):
            currency = outcome.get("currency") or ""
            changes.append(f"price {outcome.get('old_price') or '—'} → {outcome.get('new_price')} {currency}".strip())
        if outcome.get("stock_changed"):
            old = outcome.get("old_stock")
            new = outcome.get("new_stock")
            old_text = old if old is not None else (outcome.get("old_availability") or "—").replace("_", " ")
            new_text = new if new is not None else (outcome.get("new_availability") or "—").replace("_", " ")
            changes.append(f"stock {old_text} → {new_text}")
        view.outcomes.append(
            {
                "product_id": outcome.get("product_id"),
                "what": f"Product {outcome.get('product_id')}",
                "url": _product_url(outcome.get("product_id")),
                "label": capfirst(OUTCOME_LABELS.get(status, status)),
                "reason": "; ".join(changes) or outcome.get("message") or "",
            }
        )
    view.problems = bool(view.failures) or (products > 0 and not round_refreshed(result))
    return view


def _import(job: Job, result: dict) -> ResultView:
    lines = sum(result.get(key, 0) or 0 for key, _, _ in IMPORT_COUNTS)
    parts = [
        f"{result[key]} {word if result[key] == 1 else words}" for key, word, words in IMPORT_COUNTS if result.get(key)
    ]
    noun = ("line", "lines") if job.type == "add_products" else ("row", "rows")
    summary = f"{plural(lines, *noun)}: {', '.join(parts)}." if parts else f"{plural(lines, *noun)}."
    view = ResultView(summary=summary, problems=bool(result.get("error")))
    view.counts = [(capfirst(words), result[key]) for key, _, words in IMPORT_COUNTS if result.get(key)]
    view.report_url = reverse("catalog:import_detail", args=[job.pk])
    return view


def _publish(job: Job, result: dict) -> ResultView:
    published = result.get("published") or []
    failed = result.get("failed") or {}
    blocked = result.get("blocked") or {}
    missing = result.get("missing") or []
    total = len(published) + len(failed) + len(blocked) + len(missing)
    parts = [
        f"{len(items)} {word}"
        for items, word in ((published, "published"), (failed, "refused"), (blocked, "blocked"), (missing, "gone"))
        if items
    ]
    view = ResultView(summary=f"{plural(total, 'listing')}: {', '.join(parts) or 'nothing to do'}.")
    view.counts = [
        (capfirst(word), len(items))
        for items, word in (
            (published, "published"),
            (failed, "refused"),
            (blocked, "blocked by a blocklist term"),
            (missing, "no longer there"),
        )
        if items
    ]
    for reasons, label in ((failed, "Refused"), (blocked, "Blocked")):
        for listing_id, reason in reasons.items():
            view.failures.append(
                {
                    "what": f"Listing {listing_id}",
                    "url": reverse("marketplaces:listing_detail", args=[listing_id])
                    if str(listing_id).isdigit()
                    else "",
                    "label": label,
                    "reason": reason,
                }
            )
    view.problems = bool(failed or blocked)
    return view


def _generic(result) -> ResultView:
    if not isinstance(result, dict):
        return ResultView(summary=_text(result) if result else "")
    view = ResultView()
    if isinstance(result.get("summary"), str):
        view.summary = result["summary"]
    if result.get("skipped"):
        view.summary = view.summary or f"Skipped: {result['skipped']}."
    if result.get("error"):
        view.problems = True
    view.facts = [(_label(key), _text(value)) for key, value in result.items() if key != "summary"]
    if not view.summary:
        view.summary = " · ".join(f"{label}: {text}" for label, text in view.facts[:3])
    return view


def result_view(job: Job) -> ResultView:
    """The job's result as the pages show it."""
    result = job.result if isinstance(job.result, dict) else {}
    if job.type in ROUND_TYPES and "counts" in result:
        return _round(job, result)
    if job.type in IMPORT_TYPES and ("rows" in result or "error" in result):
        return _import(job, result)
    if job.type in PUBLISH_TYPES and "published" in result:
        return _publish(job, result)
    return _generic(job.result)


def status_display(job: Job, view: ResultView) -> tuple[str, str]:
    """(label, badge class) of the job's state: a finished job that refused lines or failed to read
    its products is "Done with problems", not a green success."""
    if job.status == JobStatus.SUCCESS and view.problems:
        return DONE_WITH_PROBLEMS, "problems"
    return job.get_status_display(), job.status
