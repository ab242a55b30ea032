"""Fixtures of the marketplace service tests: a spec-checked eBay double, a store, one live listing."""

from decimal import Decimal

import pytest
import respx
from django.test import RequestFactory

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


@pytest.fixture
def request_from_seller(store):
    """A request from the store's seller, for the audit row's address and browser."""
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox/140")
    request.user = store.user
    return request
