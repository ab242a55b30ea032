#!/usr/bin/env python3
"""Download the marketplaces' official OpenAPI specs, which the contract tests check our requests
and test doubles against, into var/shared/contracts (ignored by git). Then run the tests with
SHARED_MATERIAL_DIR=var/shared. Standard library only: it runs before .venv exists.

    python3 scripts/fetch_contracts.py [DESTINATION]   # default: var/shared
"""

import sys
import urllib.request
from pathlib import Path

EBAY = "https://developer.ebay.com/api-docs/master/sell/{api}/openapi/3/sell_{api}_v1_oas3.json"
SPECS = {
    "contracts/ebay/sell_inventory_v1_oas3.json": EBAY.format(api="inventory"),
    "contracts/ebay/sell_fulfillment_v1_oas3.json": EBAY.format(api="fulfillment"),
    "contracts/ebay/sell_analytics_v1_oas3.json": EBAY.format(api="analytics"),
    "contracts/ebay/sell_account_v1_oas3.json": EBAY.format(api="account"),
    "contracts/etsy/etsy_open_api_v3.json": "https://www.etsy.com/openapi/generated/oas/3.0.0.json",
}


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "var" / "shared")
    failed = 0
    for relpath, url in SPECS.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        request = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0 (contract tests)"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read()
            if not body.lstrip().startswith(b"{"):
                raise ValueError("the answer is not JSON (a bot wall?)")
        except (OSError, ValueError) as exc:
            failed += 1
            print(f"fetch_contracts: {url}: {exc}; open it in a browser and save it as {target}", file=sys.stderr)
            continue
        target.write_bytes(body)
        print(f"{target} ({len(body) // 1024} KiB)")
    if not failed:
        print(f"Done. Run the tests with SHARED_MATERIAL_DIR={root}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
