import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring.models import Job
from monitoring.tests.factories import AlertFactory, AnalyticsCacheFactory, JobFactory

pytestmark = pytest.mark.django_db


def test_one_open_alert_per_user_type_and_subject():
    alert = AlertFactory(subject="listing:12")
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertFactory(user=alert.user, type=alert.type, subject="listing:12")


def test_an_acknowledged_alert_still_blocks_a_new_one():
    alert = AlertFactory(subject="listing:12", acknowledged_at=timezone.now(), is_read=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertFactory(user=alert.user, type=alert.type, subject="listing:12")


def test_a_cleared_alert_lets_the_condition_raise_again():
    alert = AlertFactory(subject="listing:12", cleared_at=timezone.now())
    again = AlertFactory(user=alert.user, type=alert.type, subject="listing:12")
    assert again.pk != alert.pk


def test_job_retry_count_stays_between_0_and_3():
    job = JobFactory()
    with pytest.raises(IntegrityError):
        Job.objects.filter(pk=job.pk).update(retry_count=4)


def test_one_cache_row_per_user_metric_and_period():
    row = AnalyticsCacheFactory()
    with pytest.raises(IntegrityError):
        AnalyticsCacheFactory(user=row.user, metric_type=row.metric_type, time_period=row.time_period)
