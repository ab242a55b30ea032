import datetime

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from monitoring.models import Alert, AnalyticsCache, AuditLog, Job, Notification


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    user = factory.SubFactory(UserFactory)
    type = "low_stock"
    severity = "warning"
    message = "Only 2 left at the supplier."
    subject = factory.Sequence(lambda n: f"product:{n}")
    data = factory.LazyFunction(lambda: {"stock": 2})


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    type = "alert"
    recipient = "email"
    address = factory.LazyAttribute(lambda o: o.user.email)
    subject = "Low stock"
    body = "Only 2 left at the supplier."


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    user = factory.SubFactory(UserFactory)
    type = "scrape_products"
    status = "pending"
    params = factory.LazyFunction(dict)


class AnalyticsCacheFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnalyticsCache

    user = factory.SubFactory(UserFactory)
    metric_type = factory.Sequence(lambda n: f"revenue:last_{n}d")
    time_period = "daily"
    data = factory.LazyFunction(lambda: {"total": "100.00"})
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(hours=1))


class AuditLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditLog

    user = factory.SubFactory(UserFactory)
    owner = factory.SelfAttribute("user")
    action = "updated"
    resource_type = "listing"
    resource_id = "1"
    old_value = factory.LazyFunction(lambda: {"price": "19.99"})
    new_value = factory.LazyFunction(lambda: {"price": "21.99"})
