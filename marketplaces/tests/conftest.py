"""Fixtures of the listing-following tests: a spec-checked eBay double and one live listing."""

from decimal import Decimal

import pytest
import respx

from marketplaces.tests.doubles import EbayDouble, ebay_store, live_listing, supplier_product


@pytest.fixture
def api():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def ebay(api):
    return EbayDouble(api)


@pytest.fixture
def store():
    return ebay_store()


@pytest.fixture
def product():
    return supplier_product(price=Decimal("20.00"), stock=50)


@pytest.fixture
def listing(store, product):
    # What our rules gave at a supplier price of 20.00 with 50 in stock.
    return live_listing(store, product, price=Decimal("30.99"), quantity_available=10)
