import pytest

from catalog.tests.factories import ProductFactory
from monitoring.models import Alert, AuditLog
from monitoring.records import alert_clear, alert_raise, audit_record
from monitoring.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_same_condition_raises_one_open_alert():
    seller = UserFactory()
    first, created = alert_raise(user=seller, type="low_stock", subject="product:1", message="3 left")
    again, created_again = alert_raise(user=seller, type="low_stock", subject="product:1", message="2 left")
    assert created and not created_again
    assert first.pk == again.pk and Alert.objects.count() == 1
    assert Alert.objects.get().message == "2 left"


def test_a_cleared_condition_that_comes_back_raises_a_new_alert():
    seller = UserFactory()
    alert_raise(user=seller, type="low_stock", subject="product:1", message="3 left")
    assert alert_clear(user=seller, type="low_stock", subject="product:1") == 1
    _, created = alert_raise(user=seller, type="low_stock", subject="product:1", message="1 left")
    assert created and Alert.objects.count() == 2


def test_audit_rows_mask_secrets_and_keep_the_request_details(rf):
    seller = UserFactory()
    product = ProductFactory()
    request = rf.post("/", HTTP_USER_AGENT="Firefox", REMOTE_ADDR="203.0.113.9")
    audit_record(
        acting_user=seller,
        owner=seller,
        action="updated",
        resource=product,
        old_value={"oauth_token": "tok-clear", "price": "1.00"},
        new_value={"oauth_token": "tok-new", "price": "2.00"},
        request=request,
    )
    row = AuditLog.objects.get()
    assert "tok-clear" not in str(row.old_value) and "tok-new" not in str(row.new_value)
    assert row.new_value["price"] == "2.00"
    assert (row.ip_address, row.user_agent, row.resource_type) == ("203.0.113.9", "Firefox", "product")
