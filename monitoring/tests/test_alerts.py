from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import Availability, PriceHistory
from catalog.services import product_apply, product_record_failure
from catalog.tests.factories import ProductFactory
from marketplaces.models import ListingStatus
from marketplaces.tests.factories import ListingFactory, StoreAccountFactory
from monitoring.alerts import alert_settings_for, alerts_for_listing_changes, alerts_for_refresh, service_alerts_check
from monitoring.models import Alert, AlertType, Job, JobStatus, Severity
from monitoring.tests.factories import JobFactory

pytestmark = pytest.mark.django_db


def _reading(**fields):
    base = dict(
        price=None,
        currency="USD",
        availability=Availability.UNKNOWN,
        stock=None,
        title=None,
        description=None,
        rating=None,
        reviews_count=None,
        images=None,
    )
    return SimpleNamespace(**{**base, **fields})


def _refresh(product, **fields):
    """A real refresh: the reading is applied (history rows and all), then the rules run."""
    outcome = product_apply(product=product, extraction=_reading(**fields))
    product.refresh_from_db()
    return alerts_for_refresh(product=product, outcome=outcome)


def _tracked(price="20.00", stock=None, availability=Availability.IN_STOCK, **seller_fields):
    seller = UserFactory(**seller_fields)
    product = ProductFactory(price=Decimal(price), stock=stock, availability=availability)
    seller.tracked_products.add(product)
    return seller, product


def _open(user, type):
    return Alert.objects.open().filter(user=user, type=type)


# --- price_drop -------------------------------------------------------------------------------


def test_price_drop_past_the_threshold_raises_an_info_alert_with_what_the_seller_needs():
    seller, product = _tracked("20.00")
    raised = _refresh(product, price=Decimal("17.00"))

    alert = _open(seller, AlertType.PRICE_DROP).get()
    assert raised == [alert] and raised[0].is_new
    assert alert.severity == Severity.INFO
    assert alert.subject == f"product:{product.pk}" and alert.product == product
    assert alert.data["old_price"] == "20.00" and alert.data["new_price"] == "17.00"
    assert alert.data["currency"] == "USD" and alert.data["drop_percent"] == "15.0"
    assert alert.data["product_id"] == product.pk and alert.data["product_title"] == product.title
    assert alert.data["product_path"] == reverse("catalog:product_detail", args=[product.pk])
    assert "15.0%" in alert.message and "17.00 USD" in alert.message


def test_a_large_price_drop_is_a_warning():
    seller, product = _tracked("20.00")
    _refresh(product, price=Decimal("11.00"))  # 45%: more than twice the 10% threshold
    assert _open(seller, AlertType.PRICE_DROP).get().severity == Severity.WARNING


def test_each_seller_is_judged_by_their_own_threshold():
    keen, product = _tracked("20.00")
    relaxed = UserFactory()
    relaxed.tracked_products.add(product)
    settings = alert_settings_for(relaxed)
    settings.price_drop_percent = Decimal("20")
    settings.save()

    _refresh(product, price=Decimal("17.00"))  # 15%
    assert _open(keen, AlertType.PRICE_DROP).count() == 1
    assert not _open(relaxed, AlertType.PRICE_DROP).exists()


def test_a_drop_under_the_threshold_raises_nothing():
    seller, product = _tracked("20.00")
    assert _refresh(product, price=Decimal("19.00")) == []
    assert not Alert.objects.exists()


def test_the_same_drop_seen_on_the_next_refresh_stays_one_alert():
    seller, product = _tracked("20.00")
    first = _refresh(product, price=Decimal("17.00"))[0]
    again = _refresh(product, price=Decimal("17.00"))  # unchanged reading
    assert [alert.pk for alert in again] == [first.pk] and not again[0].is_new
    assert Alert.objects.filter(user=seller, type=AlertType.PRICE_DROP).count() == 1


def test_small_drops_that_add_up_raise_the_alert():
    seller, product = _tracked("20.00")
    assert _refresh(product, price=Decimal("19.00")) == []  # 5%
    _refresh(product, price=Decimal("17.80"))  # 11% below the week's high
    alert = _open(seller, AlertType.PRICE_DROP).get()
    assert alert.data["reference_price"] == "20.00" and alert.data["drop_percent"] == "11.0"


def test_price_recovery_clears_the_alert_and_a_new_drop_raises_a_new_one():
    seller, product = _tracked("20.00")
    first = _refresh(product, price=Decimal("17.00"))[0]
    _refresh(product, price=Decimal("19.50"))  # back within 10% of 20.00
    first.refresh_from_db()
    assert first.cleared_at is not None and not _open(seller, AlertType.PRICE_DROP).exists()

    second = _refresh(product, price=Decimal("16.00"))[0]
    assert second.pk != first.pk and second.is_new
    assert Alert.objects.filter(user=seller, type=AlertType.PRICE_DROP).count() == 2


def test_an_old_peak_outside_the_look_back_does_not_count():
    seller, product = _tracked("20.00")
    _refresh(product, price=Decimal("17.00"))
    Alert.objects.all().delete()
    PriceHistory.objects.update(recorded_at=timezone.now() - timedelta(days=30))
    assert _refresh(product, price=Decimal("17.00")) == []


# --- low_stock --------------------------------------------------------------------------------


def test_stock_at_or_under_the_sellers_level_is_a_warning_with_the_stock():
    seller, product = _tracked(stock=20)
    _refresh(product, stock=5, availability=Availability.IN_STOCK)
    alert = _open(seller, AlertType.LOW_STOCK).get()
    assert alert.severity == Severity.WARNING
    assert alert.data["stock"] == 5 and alert.data["old_stock"] == 20 and alert.data["threshold"] == 5
    assert "Only 5 left" in alert.message


def test_low_stock_availability_without_a_number_raises_the_alert():
    seller, product = _tracked()
    _refresh(product, availability=Availability.LOW_STOCK)
    assert _open(seller, AlertType.LOW_STOCK).get().data["availability"] == Availability.LOW_STOCK


def test_out_of_stock_under_a_live_listing_is_critical_and_names_the_listing():
    seller, product = _tracked(stock=8)
    listing = ListingFactory(product=product, store_account=StoreAccountFactory(user=seller))
    _refresh(product, stock=0, availability=Availability.OUT_OF_STOCK)
    alert = _open(seller, AlertType.LOW_STOCK).get()
    assert alert.severity == Severity.CRITICAL
    assert alert.data["listings"][0]["listing_id"] == listing.pk
    assert alert.data["listings"][0]["path"] == reverse("marketplaces:listing_detail", args=[listing.pk])


def test_out_of_stock_for_a_seller_who_only_watches_is_a_warning():
    seller, product = _tracked(stock=8)
    _refresh(product, stock=0, availability=Availability.OUT_OF_STOCK)
    assert _open(seller, AlertType.LOW_STOCK).get().severity == Severity.WARNING


def test_a_seller_with_a_listing_but_not_tracking_gets_product_alerts():
    seller = UserFactory()
    product = ProductFactory(stock=8)
    ListingFactory(product=product, store_account=StoreAccountFactory(user=seller))
    _refresh(product, stock=0, availability=Availability.OUT_OF_STOCK)
    assert _open(seller, AlertType.LOW_STOCK).exists()


def test_stock_getting_worse_escalates_the_open_alert_instead_of_raising_another():
    seller, product = _tracked(stock=20)
    ListingFactory(product=product, store_account=StoreAccountFactory(user=seller))
    first = _refresh(product, stock=3, availability=Availability.IN_STOCK)[0]
    _refresh(product, stock=0, availability=Availability.OUT_OF_STOCK)
    alert = _open(seller, AlertType.LOW_STOCK).get()
    assert alert.pk == first.pk and alert.severity == Severity.CRITICAL


def test_stock_back_clears_and_running_out_again_raises_a_new_alert():
    seller, product = _tracked(stock=20)
    first = _refresh(product, stock=2, availability=Availability.IN_STOCK)[0]
    _refresh(product, stock=30, availability=Availability.IN_STOCK)
    first.refresh_from_db()
    assert first.cleared_at is not None
    second = _refresh(product, stock=1, availability=Availability.IN_STOCK)[0]
    assert second.pk != first.pk and _open(seller, AlertType.LOW_STOCK).count() == 1


def test_inactive_sellers_get_no_alerts():
    seller, product = _tracked(stock=20, is_active=False)
    assert _refresh(product, stock=0, availability=Availability.OUT_OF_STOCK) == []


# --- refreshes that did not read the page -----------------------------------------------------


def test_a_failed_refresh_leaves_open_alerts_alone_until_failures_pile_up(settings):
    settings.SCRAPE_FAILURE_THRESHOLD = 2
    seller, product = _tracked(stock=20)
    _refresh(product, stock=2, availability=Availability.IN_STOCK)

    outcome = product_record_failure(product=product, status="blocked", message="CAPTCHA page")
    assert alerts_for_refresh(product=product, outcome=outcome) == []
    assert _open(seller, AlertType.LOW_STOCK).exists()

    outcome = product_record_failure(product=product, status="blocked", message="CAPTCHA page")
    raised = alerts_for_refresh(product=product, outcome=outcome)
    assert [alert.type for alert in raised] == [AlertType.SCRAPE_FAILING]
    assert raised[0].data["failure_count"] == 2 and "CAPTCHA page" in raised[0].message
    assert _open(seller, AlertType.LOW_STOCK).exists()

    _refresh(product, stock=2, availability=Availability.IN_STOCK)
    assert not _open(seller, AlertType.SCRAPE_FAILING).exists()


# --- listing rules ----------------------------------------------------------------------------


def _change(listing, **fields):
    base = dict(
        listing_id=listing.pk,
        user_id=listing.user_id,
        action="unchanged",
        rule="",
        old_price=listing.price,
        new_price=listing.price,
        old_quantity=listing.quantity_available,
        new_quantity=listing.quantity_available,
        old_status=listing.status,
        new_status=listing.status,
        status_reason="",
        margin_percent=Decimal("25.00"),
        pushed=True,
        message="",
    )
    return SimpleNamespace(**{**base, **fields})


@pytest.fixture
def listing():
    return ListingFactory(price=Decimal("30.00"), quantity_available=5)


def test_margin_under_the_sellers_minimum_is_a_warning_with_the_listing(listing):
    raised = alerts_for_listing_changes(changes=[_change(listing, action="repriced", margin_percent=Decimal("6.50"))])
    alert = _open(listing.user, AlertType.LOW_MARGIN).get()
    assert raised == [alert] and alert.severity == Severity.WARNING
    assert alert.subject == f"listing:{listing.pk}" and alert.listing == listing and alert.product == listing.product
    assert alert.data["margin_percent"] == "6.50" and alert.data["min_margin_percent"] == "10.00"
    assert alert.data["listing_id"] == listing.pk and alert.data["listing_title"] == listing.title
    assert alert.data["listing_path"] == reverse("marketplaces:listing_detail", args=[listing.pk])
    assert alert.data["product_path"] == reverse("catalog:product_detail", args=[listing.product_id])
    assert alert.data["currency"] == "USD" and alert.data["supplier_price"] == "19.99"


def test_a_listing_that_would_sell_at_a_loss_is_critical(listing):
    alerts_for_listing_changes(changes=[_change(listing, margin_percent=Decimal("-4.00"))])
    alert = _open(listing.user, AlertType.LOW_MARGIN).get()
    assert alert.severity == Severity.CRITICAL and "loss" in alert.message


def test_a_loss_on_a_paused_listing_is_a_warning(listing):
    change = _change(listing, action="paused", new_status=ListingStatus.PAUSED, status_reason="low_margin")
    change.margin_percent = Decimal("-4.00")
    alerts_for_listing_changes(changes=[change])
    assert _open(listing.user, AlertType.LOW_MARGIN).get().severity == Severity.WARNING


def test_margin_rules_use_each_sellers_minimum(listing):
    settings = alert_settings_for(listing.user)
    settings.min_margin_percent = Decimal("5")
    settings.save()
    assert alerts_for_listing_changes(changes=[_change(listing, margin_percent=Decimal("6.50"))]) == []


def test_low_margin_once_per_cycle_cleared_when_back_and_raised_again(listing):
    low = _change(listing, margin_percent=Decimal("3.00"))
    first = alerts_for_listing_changes(changes=[low])[0]
    assert alerts_for_listing_changes(changes=[low])[0].pk == first.pk
    assert Alert.objects.filter(type=AlertType.LOW_MARGIN).count() == 1

    alerts_for_listing_changes(changes=[_change(listing, margin_percent=Decimal("12.00"))])
    first.refresh_from_db()
    assert first.cleared_at is not None

    second = alerts_for_listing_changes(changes=[low])[0]
    assert second.pk != first.pk


def test_an_unknown_margin_leaves_the_alert_as_it_was(listing):
    alerts_for_listing_changes(changes=[_change(listing, margin_percent=Decimal("3.00"))])
    alerts_for_listing_changes(changes=[_change(listing, action="not_converted", margin_percent=None)])
    assert _open(listing.user, AlertType.LOW_MARGIN).exists()


def test_an_automatic_pause_raises_a_policy_alert_cleared_when_the_listing_resumes(listing):
    paused = _change(
        listing, action="paused", new_status=ListingStatus.PAUSED, status_reason="out_of_stock", new_quantity=0
    )
    first = alerts_for_listing_changes(changes=[paused])[0]
    assert first.type == AlertType.POLICY_TRIGGER and first.severity == Severity.WARNING
    assert "supplier out of stock" in first.message
    assert first.data["new_status"] == "paused" and first.data["status_reason"] == "out_of_stock"

    still = _change(listing, old_status=ListingStatus.PAUSED, new_status=ListingStatus.PAUSED, new_quantity=0)
    alerts_for_listing_changes(changes=[still])
    first.refresh_from_db()
    assert first.cleared_at is None

    resumed = _change(listing, action="resumed", old_status=ListingStatus.PAUSED, new_status=ListingStatus.ACTIVE)
    alerts_for_listing_changes(changes=[resumed])
    first.refresh_from_db()
    assert first.cleared_at is not None

    second = alerts_for_listing_changes(changes=[paused])
    assert second[0].pk != first.pk


def test_zeroed_quantity_raises_a_policy_alert(listing):
    alerts_for_listing_changes(changes=[_change(listing, action="quantity", old_quantity=5, new_quantity=0)])
    alert = _open(listing.user, AlertType.POLICY_TRIGGER).get()
    assert alert.data["old_quantity"] == 5 and alert.data["new_quantity"] == 0


@pytest.mark.parametrize(
    ("new_price", "severity"),
    [("33.00", None), ("37.50", Severity.INFO), ("45.00", Severity.WARNING), ("20.00", Severity.INFO)],
)
def test_a_reprice_beyond_the_bound_raises_a_policy_alert(listing, new_price, severity):
    change = _change(listing, action="repriced", old_price=Decimal("30.00"), new_price=Decimal(new_price))
    raised = alerts_for_listing_changes(changes=[change])
    if severity is None:
        assert raised == []
        return
    alert = raised[0]
    assert alert.type == AlertType.POLICY_TRIGGER and alert.severity == severity
    assert alert.data["old_price"] == "30.00" and alert.data["new_price"] == f"{Decimal(new_price):.2f}"


def test_the_follow_steps_story_is_in_the_alert_data(listing):
    change = _change(
        listing,
        action="paused",
        new_status=ListingStatus.PAUSED,
        status_reason="low_margin",
        rule="margin under the store minimum",
        message="Paused: margin 4% under the store minimum 10%.",
    )
    alert = alerts_for_listing_changes(changes=[change])[0]
    assert alert.data["change_message"] == "Paused: margin 4% under the store minimum 10%."
    assert alert.data["rule"] == "margin under the store minimum" and alert.data["pushed"] is True


def test_the_follow_steps_own_currency_alert_is_left_to_it(listing):
    Alert.objects.create(
        user=listing.user,
        type=AlertType.POLICY_TRIGGER,
        subject=f"listing:{listing.pk}",
        message="Not repriced: no exchange rate",
        data={"reason": "currency_not_converted"},
    )
    alerts_for_listing_changes(changes=[_change(listing, action="quantity", old_quantity=4, new_quantity=5)])
    assert _open(listing.user, AlertType.POLICY_TRIGGER).exists()


def test_held_changes_raise_and_clear_nothing(listing):
    alerts_for_listing_changes(changes=[_change(listing, action="quantity", new_quantity=0)])
    alerts_for_listing_changes(changes=[_change(listing, action="held")])
    assert _open(listing.user, AlertType.POLICY_TRIGGER).exists()


def test_an_ended_listing_clears_its_alerts(listing):
    alerts_for_listing_changes(changes=[_change(listing, action="quantity", new_quantity=0, margin_percent=-1)])
    assert _open(listing.user, AlertType.LOW_MARGIN).exists()
    alerts_for_listing_changes(changes=[_change(listing, new_status=ListingStatus.ENDED, margin_percent=-1)])
    assert not Alert.objects.open().exists()


def test_changes_of_a_listing_that_is_gone_are_skipped(listing):
    assert alerts_for_listing_changes(changes=[SimpleNamespace(**{**vars(_change(listing)), "listing_id": 0})]) == []


# --- service alerts for staff -----------------------------------------------------------------


@pytest.fixture
def staff():
    UserFactory(is_staff=True, is_active=False)  # former staff: no alerts
    return [UserFactory(is_staff=True), UserFactory(is_staff=True)]


def test_a_store_needing_authorisation_alerts_every_staff_member(staff):
    store = StoreAccountFactory(needs_reauth=True, last_error="invalid_grant")
    # The seller's own alert, as marketplaces raises it; cleared with the staff ones.
    Alert.objects.create(user=store.user, type=AlertType.STORE_AUTH, subject=f"store:{store.pk}", message="Reconnect")
    service_alerts_check()
    alerts = Alert.objects.open().filter(type=AlertType.STORE_AUTH, subject=f"store:{store.pk}")
    assert {alert.user for alert in alerts} == {*staff, store.user}
    assert store.user.alerts.get().message == "Reconnect"
    staff_alert = alerts.get(user=staff[0])
    assert staff_alert.data["store_id"] == store.pk and staff_alert.data["last_error"] == "invalid_grant"
    assert staff_alert.data["seller_email"] == store.user.email

    service_alerts_check()
    assert Alert.objects.filter(type=AlertType.STORE_AUTH).count() == 3

    store.needs_reauth = False
    store.save()
    service_alerts_check()
    assert not Alert.objects.open().filter(type=AlertType.STORE_AUTH).exists()


def test_tracking_gone_stale_alerts_staff_until_caught_up(staff):
    seller, product = _tracked()
    product.last_scraped_at = timezone.now() - timedelta(days=3)  # free tier: due daily
    product.save()
    service_alerts_check()
    alerts = Alert.objects.open().filter(type=AlertType.TRACKING_STALE, subject="service:tracking")
    assert {alert.user for alert in alerts} == set(staff)
    assert alerts.first().data["overdue_count"] == 1
    assert not seller.alerts.exists()

    product.last_scraped_at = timezone.now()
    product.save()
    service_alerts_check()
    assert not Alert.objects.open().filter(type=AlertType.TRACKING_STALE).exists()


def test_products_just_due_are_not_stale(staff):
    _, product = _tracked()
    product.last_scraped_at = timezone.now() - timedelta(days=1, minutes=10)
    product.save()
    service_alerts_check()
    assert not Alert.objects.filter(type=AlertType.TRACKING_STALE).exists()


def _failed_job(job_type, minutes_ago=5, error="eBay answered 503"):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    job = JobFactory(type=job_type, status=JobStatus.FAILED, error_message=error, completed_at=when)
    Job.objects.filter(pk=job.pk).update(created_at=when)
    return job


def test_jobs_failing_repeatedly_alert_staff_per_job_type(staff):
    for _ in range(3):
        _failed_job("sync_ebay")
    _failed_job("sync_etsy")
    _failed_job("sync_etsy")
    _failed_job("sync_etsy", minutes_ago=120)  # outside the hour
    service_alerts_check()
    alerts = Alert.objects.open().filter(type=AlertType.JOB_FAILED)
    assert {alert.subject for alert in alerts} == {"service:jobs:sync_ebay"}
    assert {alert.user for alert in alerts} == set(staff)
    data = alerts.first().data
    assert data["failed_count"] == 3 and data["latest_error"] == "eBay answered 503"

    Job.objects.filter(type="sync_ebay").update(completed_at=timezone.now() - timedelta(hours=2))
    service_alerts_check()
    assert not Alert.objects.open().filter(type=AlertType.JOB_FAILED).exists()


def test_service_alerts_leave_sellers_job_alerts_alone(staff):
    seller = UserFactory()
    Alert.objects.create(user=seller, type=AlertType.JOB_FAILED, subject="job:9", message="Sync failed")
    service_alerts_check()
    assert Alert.objects.open().filter(user=seller, subject="job:9").exists()


def test_a_listing_on_a_backup_source_alerts_with_that_sources_price(listing):
    backup = ProductFactory(price=Decimal("23.45"), currency="USD")
    listing.active_product = backup
    listing.save(update_fields=["active_product"])
    alerts_for_listing_changes(changes=[_change(listing, action="repriced", margin_percent=Decimal("6.50"))])
    alert = _open(listing.user, AlertType.LOW_MARGIN).get()
    assert alert.data["supplier_price"] == "23.45" and alert.data["supplier_currency"] == "USD"
