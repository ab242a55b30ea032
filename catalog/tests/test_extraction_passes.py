"""The extraction reads each page with as few passes as its answer needs (the refresh pipeline's
throughput rests on it): no second parse for extruct when it could find nothing, no selector run
twice, the script scan as exact as the pattern it stands for."""

import pytest

from catalog.extraction import FAMILY_CONFIGS, extract
from catalog.extraction import selectors as extraction_selectors
from catalog.extraction.embedded import _PRICE_KEY_HINT, _price_key_positions
from catalog.tests.pages import amazon_page


@pytest.fixture
def extruct_calls(monkeypatch):
    import extruct

    calls = []
    monkeypatch.setattr(extruct, "extract", lambda *a, **k: calls.append(1) or {})
    return calls


def test_a_page_with_nothing_for_extruct_is_not_parsed_again(extruct_calls):
    html = (
        "<html><head><title>Shop</title><meta name='description' content='Hi'></head><body><p>Hello</p></body></html>"
    )
    result = extract(html, supplier_config=FAMILY_CONFIGS["generic"], family="generic", url=None)
    assert result.price is None
    assert extruct_calls == []


@pytest.mark.parametrize(
    "markup",
    [
        "<template><div itemscope itemtype='http://schema.org/Product'><b itemprop='name'>Anvil</b></div></template>",
        "<div itemscope itemtype='http://schema.org/Thing'></div>",
        "<meta property='og:type' content='website'>",
    ],
    ids=["microdata-in-a-template", "a-scope-without-product", "a-meta-property"],
)
def test_a_page_extruct_might_read_differently_still_goes_to_it(extruct_calls, markup):
    html = f"<html><head><title>Shop</title></head><body>{markup}<p>Hello</p></body></html>"
    extract(html, supplier_config=FAMILY_CONFIGS["generic"], family="generic", url=None)
    assert extruct_calls == [1]


def test_a_selector_two_fields_share_runs_once_per_page(monkeypatch):
    runs = []
    real_select = extraction_selectors.Finder._select
    monkeypatch.setattr(
        extraction_selectors.Finder,
        "_select",
        lambda self, spec, first: runs.append(spec) or real_select(self, spec, first),
    )
    # no canonical link: the canonical URL and the selectors' URL field both ask for it
    result = amazon_page('<span id="priceblock_ourprice">$9.99</span>', url="https://www.amazon.com/dp/B000000001")
    assert result.canonical_url == "https://www.amazon.com/dp/B000000001"
    assert runs.count('link[rel="canonical"]@href') == 1


@pytest.mark.parametrize(
    "script",
    [
        'var a = {"price": 5, "salePriceAmount": "7", "PRICE_X": 1, "amount": 2};',
        '{"x":"y"price": 1}, {"unitPrice" : 3}, {"' + "a" * 40 + 'price": 1}, {"' + "a" * 41 + 'price": 1}',
        '"$price":1 "_Amount_" : 2 "price" 3 "pr" "ice": 4 "rice": 5 "Price"',
        "",
    ],
)
def test_the_script_scan_finds_price_keys_where_the_pattern_does(script):
    assert _price_key_positions(script) == [m.start() for m in _PRICE_KEY_HINT.finditer(script)]
