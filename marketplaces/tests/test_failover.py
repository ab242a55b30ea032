"""Backup sources: a listing follows the first source that qualifies (in stock, our product, read
lately, under the ceiling), fails over at once, switches back only after a while, pauses only when no
source qualifies; each switch is audited and alerted, and costs, Buy and the cross-listing drop use
the active source. Against the spec-checked eBay double."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplaces.models import Listing, ListingSource, ListingStatus, Sale
from marketplaces.services import listings_follow, order_buy_lines, store_orders_sync
from marketplaces.services.sources import (
    FAILOVER,
    NONE_QUALIFIES,
    SOURCE_ALERT_REASON,
    SOURCE_OUT_OF_STOCK,
    SOURCE_UNREADABLE,
    STAY,
    SWITCH_BACK,
    listing_sources_check,
    source_choose,
)
from marketplaces.tasks import listings_sources_follow_task
from marketplaces.tests.doubles import audit_rows, bulk_request, ebay_store, isolated_cache, live_listing
from marketplaces.tests.doubles import supplier_product as _product
from marketplaces.tests.spec import spec_route
from marketplaces.tests.test_services_orders import ORDERS, ebay_order, orders_page
from monitoring.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache(settings):
    isolated_cache(settings, "failover")


@pytest.fixture(autouse=True)
def _read_now(product):
    read(product)


def read(product, **values):
    """The product as a fresh successful reading leaves it."""
    for name, value in values.items():
        setattr(product, name, value)
    product.last_scraped_at = timezone.now()
    product.save()
    return product


def out_of_stock(product):
    return read(product, stock=0, availability="out_of_stock")


def backup(listing, price: str, **values) -> ListingSource:
    """Another tracked product attached as the listing's next backup source, read just now."""
    product = _product(price=Decimal(price), last_scraped_at=timezone.now(), **values)
    listing.user.tracked_products.add(product)
    position = listing.sources.count() + 1
    return ListingSource.objects.create(listing=listing, product=product, position=position, same_item="test")


def switches(listing):
    return audit_rows(listing).filter(action="source_switched")


# --- Failover order ---------------------------------------------------------------------------


def test_primary_out_of_stock_fails_over_to_the_first_backup_and_reprices_from_its_cost(ebay, listing, product):
    first = backup(listing, "22.00")
    backup(listing, "21.00")
    out_of_stock(product)

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product == first.product and listing.active_since is not None
    # 22.00 → ((22 × 1.3) + 0.30) / 0.8675 = 33.31, up to .99; still on sale with the backup's stock.
    assert (listing.price, listing.status, listing.status_reason) == (Decimal("33.99"), "active", "")
    assert ebay.bulk_bodies == [bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="33.99")]
    assert change.action == "repriced" and "switched to backup source 1" in change.rule
    [row] = switches(listing)
    assert row.notes.startswith(f"its own product ({product.supplier}") and SOURCE_OUT_OF_STOCK in row.notes
    assert row.new_value["active_source"]["product_id"] == first.product.pk and row.new_value["rule"] == FAILOVER


def test_a_backup_over_the_ceiling_is_passed_over_for_the_next_one(ebay, listing, product):
    backup(listing, "26.00")  # gives 39.99: over 30.99 (own product's price) + 20 % = 37.19
    second = backup(listing, "22.00")
    out_of_stock(product)

    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product == second.product and listing.price == Decimal("33.99")
    [check_own, check_first, check_second] = listing_sources_check(listing)
    assert "over the ceiling 37.19 USD" in check_first.problem
    assert check_second.active and check_second.qualifies and not check_own.qualifies


def test_the_stores_percentage_and_the_listings_maximum_price_set_the_ceiling(ebay, listing, product, store):
    expensive = backup(listing, "26.00")
    out_of_stock(product)
    store.failover_max_increase_percent = Decimal("30.00")  # 30.99 × 1.3 = 40.29: 39.99 fits
    store.save()

    listings_follow(product=product)
    listing.refresh_from_db()
    assert listing.active_product == expensive.product and listing.price == Decimal("39.99")

    listing.max_price = Decimal("39.00")  # the seller's own ceiling wins over the store's percentage
    listing.save()
    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product is None and (listing.status, listing.status_reason) == ("paused", "out_of_stock")


def test_a_locked_price_takes_the_first_backup_that_keeps_the_minimum_margin_at_it(ebay, listing, product):
    listing.price_locked = True
    listing.save()
    backup(listing, "26.00")  # at 30.99: fees 4.41, profit 0.58, margin 1.87 % < 10 %
    keeps = backup(listing, "22.00")  # profit 4.58, margin 14.78 %
    out_of_stock(product)

    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product == keeps.product
    assert (listing.price, listing.status) == (Decimal("30.99"), "active")
    assert ebay.bulk.call_count == 0  # the price stays; nothing to send


def test_the_listing_pauses_only_when_no_source_qualifies(ebay, listing, product):
    out_of_stock(backup(listing, "22.00").product)
    out_of_stock(product)

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product is None and not switches(listing).exists()
    assert (listing.status, listing.status_reason) == ("paused", "out_of_stock")
    assert change.action == "paused"


def test_when_the_active_backup_fails_too_the_listing_returns_to_its_own_product_and_pauses(ebay, listing, product):
    first = backup(listing, "22.00")
    out_of_stock(product)
    listings_follow(product=product)

    out_of_stock(first.product)
    listings_follow(product=first.product)  # the backup's own reading makes the listing follow

    listing.refresh_from_db()
    assert listing.active_product is None
    assert (listing.status, listing.status_reason) == ("paused", "out_of_stock")
    last = switches(listing).last()
    assert last.new_value["rule"] == NONE_QUALIFIES and last.notes.startswith("no source qualifies (backup source 1")


def test_a_wrong_product_hold_fails_over_instead_of_pausing(ebay, listing, product, settings):
    first = backup(listing, "22.00")
    read(product, wrong_product_count=settings.WRONG_PRODUCT_PAUSE_AFTER)

    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product == first.product and listing.status == "active"
    assert "its page shows another product" in switches(listing).get().notes


def test_a_source_unreadable_for_longer_than_the_setting_fails_over_on_the_periodic_check(ebay, listing, product):
    first = backup(listing, "22.00")
    product.last_scraped_at = timezone.now() - timedelta(hours=5)
    product.save()

    listings_sources_follow_task()
    listing.refresh_from_db()
    assert listing.active_product is None  # 5 hours: still readable enough (SOURCE_READABLE_HOURS = 6)

    product.last_scraped_at = timezone.now() - timedelta(hours=7)
    product.save()
    listings_sources_follow_task()

    listing.refresh_from_db()
    assert listing.active_product == first.product and listing.price == Decimal("33.99")
    assert SOURCE_UNREADABLE.format(hours=6) in switches(listing).get().notes


def test_the_readable_window_is_a_setting(ebay, listing, product, settings):
    first = backup(listing, "22.00")
    settings.SOURCE_READABLE_HOURS = 2
    product.last_scraped_at = timezone.now() - timedelta(hours=3)
    product.save()

    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product == first.product


# --- No flapping ------------------------------------------------------------------------------


def _on_backup(listing, product):
    first = backup(listing, "22.00")
    out_of_stock(product)
    listings_follow(product=product)
    listing.refresh_from_db()
    assert listing.active_product == first.product
    return first


def _good_for(listing, minutes):
    Listing.objects.filter(pk=listing.pk).update(own_good_since=timezone.now() - timedelta(minutes=minutes))


def test_the_preferred_source_good_again_for_less_than_the_setting_does_not_switch_back(ebay, listing, product):
    first = _on_backup(listing, product)
    read(product, stock=40, availability="in_stock")

    listings_follow(product=product)
    listing.refresh_from_db()
    assert listing.active_product == first.product and listing.own_good_since is not None

    _good_for(listing, 59)
    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product == first.product and listing.price == Decimal("33.99")
    assert switches(listing).count() == 1


def test_the_preferred_source_good_for_the_setting_switches_back_and_reprices(ebay, listing, product):
    _on_backup(listing, product)
    read(product, stock=40, availability="in_stock")
    _good_for(listing, 61)

    [change] = listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product is None and listing.price == Decimal("30.99")
    assert ebay.bulk_bodies[-1] == bulk_request(f"AM-{listing.pk}", offer_id=f"9{listing.pk}", price="30.99")
    last = switches(listing).last()
    assert last.new_value["rule"] == SWITCH_BACK and "has qualified for 60 minutes: switched back" in last.notes
    assert "switched back" in change.rule


def test_a_break_in_the_preferred_sources_good_run_starts_the_wait_again(ebay, listing, product):
    first = _on_backup(listing, product)
    read(product, stock=40, availability="in_stock")
    _good_for(listing, 61)
    out_of_stock(product)  # gone again before the listing followed: the run is broken
    listings_follow(product=product)
    listing.refresh_from_db()
    assert listing.own_good_since is None

    read(product, stock=40, availability="in_stock")
    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product == first.product


def test_the_switch_back_wait_is_a_setting(ebay, listing, product, settings):
    _on_backup(listing, product)
    settings.SOURCE_SWITCH_BACK_MINUTES = 10
    read(product, stock=40, availability="in_stock")
    _good_for(listing, 11)

    listings_follow(product=product)

    listing.refresh_from_db()
    assert listing.active_product is None


def test_source_choose_fails_over_at_once_and_switches_back_only_after_the_wait():
    now = timezone.now()
    long_ago, just_now = now - timedelta(minutes=61), now - timedelta(minutes=5)

    assert source_choose([True, True], [just_now, long_ago], active=0, now=now) == (0, STAY)
    assert source_choose([False, True, True], [None, long_ago, long_ago], active=0, now=now) == (1, FAILOVER)
    assert source_choose([False, False, True], [None, None, long_ago], active=1, now=now) == (2, FAILOVER)
    assert source_choose([True, True, True], [just_now, long_ago, long_ago], active=2, now=now) == (1, SWITCH_BACK)
    assert source_choose([True, True], [just_now, long_ago], active=1, now=now) == (1, STAY)
    assert source_choose([True, False], [just_now, None], active=1, now=now) == (0, FAILOVER)
    assert source_choose([False, False], [None, None], active=1, now=now) == (0, NONE_QUALIFIES)
    assert source_choose([False, False], [None, None], active=0, now=now) == (0, STAY)
    assert source_choose([False, True], [None, just_now], active=None, now=now) == (1, FAILOVER)


# --- Audit and alerts -------------------------------------------------------------------------


def test_each_switch_is_audited_with_its_rule_and_raises_an_info_alert(ebay, listing, product):
    first = _on_backup(listing, product)
    read(product, stock=40, availability="in_stock")
    _good_for(listing, 61)
    listings_follow(product=product)

    rows = list(switches(listing))
    assert [row.new_value["rule"] for row in rows] == [FAILOVER, SWITCH_BACK]
    assert all(row.user is None and row.owner == listing.user for row in rows)
    alerts = list(Alert.objects.filter(user=listing.user, data__reason=SOURCE_ALERT_REASON).order_by("pk"))
    assert len(alerts) == 2 and {alert.severity for alert in alerts} == {"info"}
    assert alerts[0].cleared_at is not None and alerts[1].cleared_at is None
    assert alerts[0].data["to_product_id"] == first.product.pk and alerts[1].data["to_product_id"] == product.pk
    assert alerts[1].listing == listing and "switched back" in alerts[1].message


def test_a_follow_that_changes_nothing_switches_nothing(ebay, listing, product):
    backup(listing, "22.00")

    listings_follow(product=product)
    listings_follow(product=product)

    assert not switches(listing).exists() and ebay.bulk.call_count == 0
    assert not Alert.objects.filter(data__reason=SOURCE_ALERT_REASON).exists()


# --- What uses the active source ----------------------------------------------------------------


def test_buy_sends_the_seller_to_the_active_source(ebay, listing, product):
    from marketplaces.tests.factories import OrderFactory, SaleFactory

    first = _on_backup(listing, product)
    order = OrderFactory(store_account=listing.store_account, user=listing.user)
    line = SaleFactory(order=order, listing=listing, store_account=listing.store_account, unit_cost=Decimal("22.00"))
    out_of_stock(first.product)  # the latest reading of the source in use warns
    line = Sale.objects.select_related("listing").get(pk=line.pk)

    [buy] = order_buy_lines(order, [line])

    assert buy.product_url == first.product.url != product.url
    assert any("out of stock" in warning for warning in buy.warnings)


def test_a_sale_costs_what_the_active_source_costs(api, ebay, store, listing, product):
    _on_backup(listing, product)
    order = ebay_order("04-9", [(listing.external_listing_id, f"AM-{listing.pk}", 1, "33.99")])
    spec_route(api, "GET", ORDERS, status=200, json=orders_page(order))

    store_orders_sync(store)

    sale = listing.sales.get()
    assert sale.unit_cost == Decimal("22.00")  # the backup's price, not the own product's 20.00


def test_a_sale_lowers_the_other_listings_of_its_active_source_not_its_own_product(api, ebay, store, listing, product):
    first = _on_backup(listing, product)
    same_stock = live_listing(ebay_store(user=store.user), first.product, price=Decimal("33.99"), quantity_available=10)
    other_stock = live_listing(ebay_store(user=store.user), product, price=Decimal("30.99"), quantity_available=0)
    order = ebay_order("04-10", [(listing.external_listing_id, f"AM-{listing.pk}", 3, "101.97")])
    spec_route(api, "GET", ORDERS, status=200, json=orders_page(order))

    result = store_orders_sync(store)

    same_stock.refresh_from_db()
    other_stock.refresh_from_db()
    assert same_stock.quantity_available == 7 and other_stock.quantity_available == 0
    assert [change.listing_id for change in result.cross_listing] == [same_stock.pk]


def test_a_backup_sources_reading_makes_the_listings_that_use_it_follow(ebay, listing, product):
    first = _on_backup(listing, product)
    second = backup(listing, "21.00")

    out_of_stock(first.product)
    [change] = listings_follow(product=first.product)

    listing.refresh_from_db()
    assert change.listing_id == listing.pk and listing.active_product == second.product
    assert listing.price == Decimal("31.99")


def test_a_listing_without_backup_sources_follows_as_before(ebay, listing, product):
    out_of_stock(product)

    listings_follow(product=product)

    listing.refresh_from_db()
    assert (listing.status, listing.status_reason, listing.active_product) == ("paused", "out_of_stock", None)
    assert not switches(listing).exists()


def test_stopping_to_track_a_backup_source_is_refused_and_dropping_it_detaches_it(ebay, listing, product):
    from marketplaces.services import ProductListed, product_drop, product_stop_tracking

    first = _on_backup(listing, product)
    user = listing.user

    with pytest.raises(ProductListed):
        product_stop_tracking(user=user, product=first.product)
    drop = product_drop(user=user, product=first.product, acting_user=user)

    listing.refresh_from_db()
    assert drop.untracked and not drop.ended and listing.status != ListingStatus.ENDED
    assert not listing.sources.exists() and listing.active_product is None
    assert (listing.status, listing.status_reason) == ("paused", "out_of_stock")  # its own product is still out


# --- The operator's command ---------------------------------------------------------------------


def run_command(*args):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("follow_sources", *args, stdout=out)
    return out.getvalue()


def test_follow_sources_dry_run_prints_the_choice_and_changes_nothing(ebay, listing, product):
    first = backup(listing, "22.00")
    out_of_stock(product)

    output = run_command("--dry-run")

    assert f"Listing {listing.pk}" in output
    assert "not usable: out of stock" in output and "* backup source 1" in output
    assert "would switch: its own product" in output
    listing.refresh_from_db()
    assert listing.active_product is None and ebay.bulk.call_count == 0

    output = run_command("--listing", str(listing.pk))

    listing.refresh_from_db()
    assert listing.active_product == first.product and listing.price == Decimal("33.99")
    assert "repriced: " in output and "switched to backup source 1" in output


def test_follow_sources_names_a_listing_that_is_not_there(listing):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=f"No live listing with id {listing.pk + 100}."):
        run_command("--listing", str(listing.pk + 100))


def test_the_tracking_cycle_acts_on_a_backup_sources_reading(ebay, listing, product):
    from catalog.services import RefreshOutcome
    from monitoring.cycle import product_follow_up

    first = _on_backup(listing, product)
    second = backup(listing, "21.00")
    out_of_stock(first.product)
    outcome = RefreshOutcome(
        product_id=first.product.pk,
        status="updated",
        stock_changed=True,
        old_availability="in_stock",
        new_availability="out_of_stock",
        currency="USD",
    )

    [change] = product_follow_up(product=first.product, outcome=outcome)

    listing.refresh_from_db()
    assert change.listing_id == listing.pk and listing.active_product == second.product
