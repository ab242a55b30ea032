"""Currency conversion with the ECB euro reference rates kept in ExchangeRate rows.

A rate is units of a currency per euro, so an amount converts as amount × per_eur[to] /
per_eur[from] (the euro itself is 1). The rows are refreshed daily from the ECB feed when it
can be reached; staff can also keep them by hand in the admin.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import httpx
from django.conf import settings
from django.db import transaction

from marketplaces.models import ExchangeRate
from marketplaces.pricing import UnitCost
from marketplaces.pricing import product_unit_cost as product_unit_cost_of

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
EURO = "EUR"
ECB_SOURCE = "ecb"
ECB_NAMESPACE = "{http://www.ecb.int/vocabulary/2002-08-01/eurofxref}"
RATES_UNREACHABLE_MESSAGE = "The ECB reference rates could not be fetched: {reason}"
RATES_UNREADABLE_MESSAGE = "The ECB answer did not hold reference rates."


class RatesUnavailable(Exception):
    """The ECB feed could not be fetched or read; the rates kept so far stay in use."""


@dataclass(frozen=True)
class RatesRefresh:
    """What a refresh wrote: the ECB's reference date and the currencies updated."""

    as_of: date
    currencies: list[str]


_remembered: ContextVar[dict | None] = ContextVar("rates_remembered", default=None)


@contextmanager
def rates_remembered() -> Iterator[None]:
    """Within the block each currency's rate is read once: a list converting many rows (the API's
    orders with their profit) costs a query per currency, not per row."""
    token = _remembered.set({})
    try:
        yield
    finally:
        _remembered.reset(token)


def rate_per_eur(currency: str) -> Decimal | None:
    """Units of `currency` per euro, or None when no rate is kept for it."""
    currency = (currency or "").upper()
    if currency == EURO:
        return Decimal("1")
    remembered = _remembered.get()
    if remembered is not None and currency in remembered:
        return remembered[currency]
    rate = ExchangeRate.objects.filter(currency=currency).values_list("per_eur", flat=True).first()
    rate = rate if rate and rate > 0 else None
    if remembered is not None:
        remembered[currency] = rate
    return rate


def convert(amount: Decimal | None, *, from_currency: str, to_currency: str) -> Decimal | None:
    """`amount` in `to_currency`, to the cent; None when the amount or a needed rate is missing.

    A blank source currency is taken as already in the target currency (a product whose page
    gave no currency is priced in its supplier's default, which the catalog fills in).
    """
    if amount is None:
        return None
    source = (from_currency or to_currency or "").upper()
    target = (to_currency or source).upper()
    if source == target:
        return Decimal(amount)
    source_rate, target_rate = rate_per_eur(source), rate_per_eur(target)
    if source_rate is None or target_rate is None:
        return None
    return (Decimal(amount) * target_rate / source_rate).quantize(CENT, rounding=ROUND_HALF_UP)


def convert_amount(amount: Decimal, source: str, target: str) -> Decimal | None:
    """`convert` as marketplaces.pricing's Converter: (amount, from, to)."""
    return convert(amount, from_currency=source, to_currency=target)


def product_unit_cost(product, *, currency: str) -> UnitCost | None:
    """The unit cost of a product (supplier price + shipping + tax, marketplaces.pricing) with its
    parts, converted to `currency` with the kept rates; None when the price is not known. Pass the
    product as the seller sees it (catalog's product_as_seen_by) for their own price and shipping."""
    return product_unit_cost_of(product, currency=currency, convert=convert_amount)


def product_cost(product, *, currency: str) -> Decimal | None:
    """The unit cost of a product in `currency` (None: price unknown or not convertible)."""
    unit = product_unit_cost(product, currency=currency)
    return None if unit is None else unit.amount


def parse_ecb_rates(content: bytes) -> tuple[date, dict[str, Decimal]]:
    """The reference date and the rates of the ECB's eurofxref-daily.xml document."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise RatesUnavailable(RATES_UNREADABLE_MESSAGE) from exc
    for cube in root.iter(f"{ECB_NAMESPACE}Cube"):
        if "time" not in cube.attrib:
            continue
        try:
            as_of = date.fromisoformat(cube.attrib["time"])
            rates = {
                child.attrib["currency"].upper(): Decimal(child.attrib["rate"])
                for child in cube
                if child.attrib.get("currency") and child.attrib.get("rate")
            }
        except (KeyError, ValueError, InvalidOperation) as exc:
            raise RatesUnavailable(RATES_UNREADABLE_MESSAGE) from exc
        rates = {currency: rate for currency, rate in rates.items() if rate > 0}
        if rates:
            return as_of, rates
    raise RatesUnavailable(RATES_UNREADABLE_MESSAGE)


def rates_refresh(*, url: str | None = None, http: httpx.Client | None = None) -> RatesRefresh:
    """Fetch today's ECB reference rates and store them (one row per currency).

    Raises RatesUnavailable when the feed cannot be reached or read; nothing is changed then.
    """
    url = url or settings.ECB_RATES_URL
    client = http or httpx.Client(timeout=httpx.Timeout(settings.MARKETPLACE_HTTP_TIMEOUT))
    try:
        response = client.get(url, headers={"Accept": "application/xml, text/xml"})
        response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise RatesUnavailable(RATES_UNREACHABLE_MESSAGE.format(reason=f"HTTP {exc.response.status_code}")) from exc
    except httpx.HTTPError as exc:
        raise RatesUnavailable(RATES_UNREACHABLE_MESSAGE.format(reason=type(exc).__name__)) from exc
    finally:
        if http is None:
            client.close()
    as_of, rates = parse_ecb_rates(response.content)
    with transaction.atomic():
        for currency, rate in sorted(rates.items()):
            ExchangeRate.objects.update_or_create(
                currency=currency, defaults={"per_eur": rate, "as_of": as_of, "source": ECB_SOURCE}
            )
    logger.info("ECB rates of %s stored for %d currencies", as_of, len(rates))
    return RatesRefresh(as_of=as_of, currencies=sorted(rates))
