"""Exchange rates: conversion through the euro and the daily ECB refresh."""

from datetime import date
from decimal import Decimal

import httpx
import pytest
import respx

from marketplaces.models import ExchangeRate
from marketplaces.services import RatesUnavailable, convert, rates_refresh
from marketplaces.tests.doubles import ECB_DAILY_XML, ECB_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates():
    ExchangeRate.objects.create(currency="USD", per_eur=Decimal("1.10"), as_of=date(2026, 3, 1))
    ExchangeRate.objects.create(currency="GBP", per_eur=Decimal("0.85"), as_of=date(2026, 3, 1))


@pytest.mark.parametrize(
    "amount, source, target, expected",
    [
        ("20.00", "USD", "USD", "20.00"),
        ("20.00", "EUR", "USD", "22.00"),  # × 1.10
        ("22.00", "USD", "EUR", "20.00"),  # ÷ 1.10
        ("20.00", "GBP", "USD", "25.88"),  # × 1.10 / 0.85
        ("20.00", "usd", "GBP", "15.45"),
    ],
)
def test_amounts_convert_through_the_euro(rates, amount, source, target, expected):
    assert convert(Decimal(amount), from_currency=source, to_currency=target) == Decimal(expected)


def test_a_currency_without_a_rate_cannot_be_converted(rates):
    assert convert(Decimal("10"), from_currency="JPY", to_currency="USD") is None
    assert convert(None, from_currency="USD", to_currency="EUR") is None


def test_the_ecb_feed_refreshes_the_rates(rates):
    with respx.mock(assert_all_mocked=True) as api:
        api.get(ECB_URL).respond(200, content=ECB_DAILY_XML, headers={"Content-Type": "text/xml"})
        refresh = rates_refresh()

    assert (refresh.as_of, refresh.currencies) == (date(2026, 3, 2), ["GBP", "JPY", "USD"])
    kept = {rate.currency: (rate.per_eur, rate.as_of, rate.source) for rate in ExchangeRate.objects.all()}
    assert kept == {
        "GBP": (Decimal("0.855130"), date(2026, 3, 2), "ecb"),
        "JPY": (Decimal("162.350000"), date(2026, 3, 2), "ecb"),
        "USD": (Decimal("1.081200"), date(2026, 3, 2), "ecb"),
    }
    assert convert(Decimal("1000"), from_currency="JPY", to_currency="USD") == Decimal("6.66")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.ConnectError("no route"),
        httpx.Response(503, text="maintenance"),
        httpx.Response(200, content=b"<html>not the feed</html>"),
        httpx.Response(200, content=b"not xml at all"),
    ],
)
def test_an_unreachable_or_unreadable_feed_leaves_the_rates_as_they_were(rates, answer):
    with respx.mock(assert_all_mocked=True) as api:
        api.get(ECB_URL).mock(side_effect=[answer])
        with pytest.raises(RatesUnavailable):
            rates_refresh()

    assert ExchangeRate.objects.get(currency="USD").per_eur == Decimal("1.10")
