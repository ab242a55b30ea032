"""Material the project uses but does not own: the marketplaces' official API specs and saved
third-party product pages. It lives outside the repository, in `settings.SHARED_MATERIAL_DIR`
(`../shared` beside the repository unless `SHARED_MATERIAL_DIR` says otherwise); the contract
tests, the saved-page tests and `bench_refresh` find it here and nowhere else."""

from pathlib import Path

from django.conf import settings

# What each part is and how to get it, for the one line a test or command prints when it is absent.
HOW_TO_GET = {
    "contracts": (
        "the marketplaces' official OpenAPI specs (eBay Sell APIs, Etsy Open API v3); "
        "`python scripts/fetch_contracts.py` downloads them from developer.ebay.com and etsy.com "
        "into var/shared/contracts, then set SHARED_MATERIAL_DIR=var/shared"
    ),
    "pages": (
        "the saved product pages with their expected values (pages/expected.json), which come with "
        "the project's shared material; put it beside the repository as ../shared or set SHARED_MATERIAL_DIR"
    ),
}


class MaterialMissing(LookupError):
    """A file of the shared material is not where SHARED_MATERIAL_DIR points."""


def material_path(relpath: str) -> Path:
    """The path of `relpath` (e.g. "contracts/etsy/etsy_open_api_v3.json") in the shared material;
    MaterialMissing, saying what is missing and how to get it, when it is not there."""
    path = Path(settings.SHARED_MATERIAL_DIR) / relpath
    if not path.exists():
        part = relpath.split("/", 1)[0]
        hint = HOW_TO_GET.get(part, "the project's shared material")
        raise MaterialMissing(f"{path} is missing: {hint}.")
    return path
