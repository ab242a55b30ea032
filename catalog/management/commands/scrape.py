"""manage.py scrape <url-or-file> [--supplier NAME] [--json]

Shows what the extraction reads from one product page, without saving anything: a saved HTML
file is parsed as it is (no network); a URL (or a bare ASIN) is fetched through the catalog's
fetching (rate limits, proxies, SSRF rules) first. For operators checking a supplier's selectors
after a layout change, and for staff trying a selector fix on a saved page.
"""

import json
import re
from pathlib import Path

from django.core.management.base import CommandError
from django.db import DatabaseError

from catalog.extraction import FAMILIES, FAMILY_CONFIGS, Extraction, extract
from catalog.extraction.guess import guess_family
from catalog.identify import IdentifyError, family_configs_from_db, generic_product_id, identify
from config.commands import BaseCommand

UNKNOWN_SUPPLIER = "Unknown supplier {name!r}: choose one of {choices}."
NO_SUCH_FILE = "No such file: {target} (a URL must start with http:// or https://)"
NOT_A_PRODUCT = "{target}: {reason}"
NOT_A_FILE = "{target} is not a file."
FILE_TOO_LARGE = "{target} is larger than {limit} MB; is it really one product page?"
FETCH_FAILED = "Could not fetch {url}: {error}"
_MAX_FILE_MB = 50
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)
_ASIN = re.compile(r"^[A-Za-z0-9]{10}$")


class Command(BaseCommand):
    help = "Print the product fields read from a page (a saved HTML file or a URL); nothing is saved."

    def add_arguments(self, parser):
        parser.add_argument("target", help="a saved HTML file, a product URL, or a bare ASIN")
        parser.add_argument(
            "--supplier",
            help=f"the supplier family whose rules to use ({', '.join(FAMILIES)}); "
            "default: recognised from the URL or the page, else generic",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--save",
            action="store_true",
            help="store what was read on the product (created if new; a URL or ASIN only; nothing when blocked)",
        )

    def handle(self, *args, **options):
        target, supplier = options["target"], options.get("supplier")
        family = supplier.strip().lower() if supplier else None
        if family is not None and family not in FAMILIES:
            raise CommandError(UNKNOWN_SUPPLIER.format(name=supplier, choices=", ".join(FAMILIES)))
        configs = _family_configs()
        is_url = bool(_URL.match(target) or _ASIN.match(target.strip()))
        if options.get("save") and not is_url:
            raise CommandError(SAVE_NEEDS_URL)
        if is_url:
            result = self._from_url(target.strip(), family, configs)
        else:
            result = self._from_file(Path(target).expanduser(), family, configs)
        self._print(result, as_json=options.get("json", False))
        if options.get("save"):
            self._save(target.strip(), result, configs)

    def _save(self, target: str, result: Extraction, configs):
        if result.blocked or result.layout_unrecognised:
            raise CommandError(NOTHING_SAVED.format(reason=result.blocked_reason or "no product data on the page"))
        from catalog.models import Product
        from catalog.services import product_apply, supplier_for_site

        identified = identify(target, configs=configs)
        supplier = supplier_for_site(
            family=identified.family,
            site_name=identified.site_name,
            base_url=identified.base_url,
            currency=identified.currency or "",
        )
        asin = identified.product_id or generic_product_id(
            result.canonical_url or identified.canonical_url, sku=result.asin
        )
        product, created = Product.objects.get_or_create(
            supplier=supplier, asin=asin, defaults={"url": result.canonical_url or identified.canonical_url}
        )
        outcome = product_apply(product=product, extraction=result)
        verb = "created" if created else outcome.status
        self.stderr.write(f"Saved product {product.pk} ({supplier.name} {asin}): {verb}.")

    def _from_file(self, path: Path, family, configs) -> Extraction:
        if not path.exists():
            raise CommandError(NO_SUCH_FILE.format(target=path))
        if not path.is_file():
            raise CommandError(NOT_A_FILE.format(target=path))
        if path.stat().st_size > _MAX_FILE_MB * 1024 * 1024:
            raise CommandError(FILE_TOO_LARGE.format(target=path, limit=_MAX_FILE_MB))
        try:
            html = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror or error}") from error
        family = family or guess_family(html, configs=configs)
        return extract(html, supplier_config=configs[family], family=family, url=None)

    def _from_url(self, target: str, family, configs) -> Extraction:
        try:
            identified = identify(target, configs=configs)
        except IdentifyError as error:
            raise CommandError(NOT_A_PRODUCT.format(target=target, reason=error)) from error
        family = family or identified.family
        supplier = _supplier_for(identified, family)
        from catalog import fetching  # the network side is only needed for URLs

        try:
            page = fetching.fetch_page(url=identified.canonical_url, supplier=supplier)
        except fetching.Blocked as blocked:
            return Extraction.for_blocked_page(blocked.reason, page_url=identified.canonical_url)
        except (fetching.FetchError, fetching.UnsafeURL) as error:
            raise CommandError(FETCH_FAILED.format(url=identified.canonical_url, error=error)) from error
        return extract(page.page, supplier_config=configs[family], family=family, url=page.final_url)

    def _print(self, result: Extraction, *, as_json: bool):
        if as_json:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        if result.blocked:
            self.stdout.write(f"blocked: {result.blocked_reason}")
            return
        if result.layout_unrecognised:
            self.stdout.write("layout not recognised: no title and no price from any source")
        if result.variant_unselected:
            self.stdout.write("variants: the page offers variants and none is selected (not one item)")
        rows = [
            ("title", result.title),
            ("price", _price(result)),
            ("availability", result.availability + (f" (stock {result.stock})" if result.stock is not None else "")),
            ("rating", None if result.rating is None else f"{result.rating} / 5"),
            ("reviews", result.reviews_count),
            ("asin", result.asin),
            ("gtin", result.gtin),
            ("mpn", result.mpn),
            ("brand", result.brand),
            ("url", result.url),
            ("images", len(result.images) or None),
        ]
        for label, value in rows:
            self.stdout.write(f"{label + ':':<14}{'—' if value is None else value}")
        for image in result.images[:5]:
            self.stdout.write(f"{'':<14}{image}")


SAVE_NEEDS_URL = "--save needs a product URL or ASIN (a saved file does not say which product it is)."
NOTHING_SAVED = "Nothing saved: {reason}."


def _price(result: Extraction) -> str | None:
    if result.price is None:
        if result.price_is_range:
            return f"a range, not one price ({result.currency or 'currency unknown'})"
        return None
    return f"{result.price} {result.currency or '(currency unknown)'}"


def _family_configs() -> dict:
    """The template rows' scraper_config (what staff edited), or the shipped copy without a database."""
    try:
        return family_configs_from_db()
    except DatabaseError:
        return dict(FAMILY_CONFIGS)


def _supplier_for(identified, family):
    """The site's Supplier row, or an unsaved one built from its family's template (nothing is saved)."""
    from catalog.models import Supplier

    try:
        if family == identified.family:
            site = Supplier.objects.filter(name=identified.site_name).select_related("family").first()
            if site is not None:
                return site
        template = Supplier.objects.filter(name=family, family__isnull=True).first()
    except DatabaseError:
        template = None
    if template is None:
        template = Supplier(name=family, base_url=identified.base_url, scraper_config=FAMILY_CONFIGS[family])
    if template.name == identified.site_name:
        return template
    return Supplier(
        name=identified.site_name,
        family=template if template.pk else None,
        base_url=identified.base_url,
        currency=identified.currency or template.currency,
        rate_limit=template.rate_limit,
        requires_js=template.requires_js,
        scraper_config={} if template.pk else template.scraper_config,
    )
