"""The lease a running Job holds (config/settings.py, "Liveness and recovery"): its heartbeat, the
sweep that resumes a stale Job on another worker, deliveries that exit when a live worker holds the
Job, work in batches handed on to a new delivery, a lost database connection."""

import datetime
import time

import pytest
from django.db import OperationalError
from django.utils import timezone

from catalog.models import Product
from catalog.services import products_claim
from catalog.tests.factories import ProductFactory
from monitoring import tasks
from monitoring.cycle import TRACKING_JOB_TYPE
from monitoring.jobs import JobLease, job_task
from monitoring.models import Job, JobStatus
from monitoring.records import CONTINUE, JOB_LOST_MESSAGE, job_out_of_time, job_progress, jobs_sweep
from monitoring.tests.factories import JobFactory

pytestmark = pytest.mark.django_db
CALLS = []
ANOTHER_WORKER = "worker-2:4242:feedc0ffee00"


@job_task()
def note_the_call(job):
    CALLS.append(job.pk)
    if job.params.get("lose_connection") and len(CALLS) == 1:
        raise OperationalError("server closed the connection unexpectedly")
    if job.params.get("taken_over"):
        Job.objects.filter(pk=job.pk).update(lease_token=ANOTHER_WORKER)  # its heartbeat had gone stale
        job_progress(job, done=1)
    return {"calls": len(CALLS)}


@job_task()
def count_in_batches(job):
    state = dict(job.checkpoint) or {"done": 0}
    while state["done"] < 3:
        state["done"] += 1
        CALLS.append(state["done"])
        job_progress(job, done=state["done"], total=3, checkpoint=state)
        if state["done"] < 3 and job_out_of_time(job):
            return CONTINUE
    return {"done": state["done"]}


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def ago(seconds):
    return timezone.now() - datetime.timedelta(seconds=seconds)


def stale(job_type="count"):
    """Seconds ago beyond which a Job of this type is stale."""
    from monitoring.records import job_stale_after

    return job_stale_after(job_type).total_seconds() + 1


def running(task, **fields):
    return JobFactory(
        status=JobStatus.RUNNING, task_name=task.name, started_at=ago(3600), lease_token="worker-1:7:00ab", **fields
    )


def test_a_delivery_whose_job_a_live_worker_holds_exits_at_once():
    job = running(note_the_call, heartbeat_at=ago(5))

    note_the_call.apply(args=[job.pk])

    assert CALLS == []
    job.refresh_from_db()
    assert (job.status, job.lease_token) == (JobStatus.RUNNING, "worker-1:7:00ab")


def test_a_delivery_takes_over_a_job_whose_worker_went_silent():
    job = running(note_the_call, heartbeat_at=ago(stale()))

    note_the_call.apply(args=[job.pk])

    job.refresh_from_db()
    assert [job.pk] == CALLS
    assert (job.status, job.result) == (JobStatus.SUCCESS, {"calls": 1})
    assert job.started_at < ago(3000)  # still the time the Job first started


def test_a_job_taken_over_meanwhile_is_left_to_its_new_holder():
    job = JobFactory(status=JobStatus.PENDING, task_name=note_the_call.name, params={"taken_over": True})

    note_the_call.apply(args=[job.pk])

    job.refresh_from_db()
    assert (job.status, job.lease_token, job.result, job.error_message) == (
        JobStatus.RUNNING,
        ANOTHER_WORKER,
        {},
        None,
    )


def test_a_lost_database_connection_hands_the_job_on_to_a_new_delivery():
    job = JobFactory(status=JobStatus.PENDING, task_name=note_the_call.name, params={"lose_connection": True})

    note_the_call.apply(args=[job.pk])  # eager: the new delivery runs at once, here

    job.refresh_from_db()
    assert [job.pk, job.pk] == CALLS
    assert (job.status, job.retry_count, job.result) == (JobStatus.SUCCESS, 1, {"calls": 2})


def test_work_in_batches_is_handed_on_and_each_batch_is_done_once(monkeypatch):
    monkeypatch.setattr(f"{__name__}.job_out_of_time", lambda job: True)  # every delivery's time is up at once
    job = JobFactory(status=JobStatus.PENDING, task_name=count_in_batches.name)

    count_in_batches.apply(args=[job.pk])

    job.refresh_from_db()
    assert CALLS == [1, 2, 3]
    assert (job.status, job.result, job.retry_count) == (JobStatus.SUCCESS, {"done": 3}, 0)
    assert (job.progress_done, job.progress_total, job.checkpoint) == (3, 3, {})


def test_a_delivery_from_the_broker_has_a_batch_time_and_one_run_here_has_none(settings):
    settings.JOB_BATCH_SECONDS = 0
    seen = {}

    @job_task()
    def look(job):
        seen["out_of_time"] = job_out_of_time(job)
        return {}

    job = JobFactory(status=JobStatus.PENDING, task_name=look.name)
    look.apply(args=[job.pk])  # the track command runs a round this way: no hand-on
    assert seen == {"out_of_time": False}

    job = JobFactory(status=JobStatus.PENDING, task_name=look.name)
    look.run(job.pk)  # as a worker delivery runs it
    assert seen == {"out_of_time": True}


# --- The sweep ---------------------------------------------------------------------------------


def test_the_sweep_resumes_a_stale_job_and_leaves_a_live_one_however_long_it_runs(django_capture_on_commit_callbacks):
    silent = running(note_the_call, heartbeat_at=ago(stale()))
    alive = running(note_the_call, heartbeat_at=ago(10))  # started an hour ago, beating

    with django_capture_on_commit_callbacks(execute=True):
        outcome = jobs_sweep()

    assert outcome["requeued"] == [silent.pk]
    silent.refresh_from_db()
    assert (silent.status, silent.retry_count, CALLS) == (JobStatus.SUCCESS, 1, [silent.pk])
    alive.refresh_from_db()
    assert (alive.status, alive.lease_token) == (JobStatus.RUNNING, "worker-1:7:00ab")


def test_a_tracking_round_is_stale_after_minutes_not_half_hours(settings):
    settings.JOB_STALE_AFTER = {"*": datetime.timedelta(minutes=5), TRACKING_JOB_TYPE: datetime.timedelta(minutes=2)}
    round_ = running(tasks.tracking_cycle_task, type=TRACKING_JOB_TYPE, heartbeat_at=ago(150))
    other = running(note_the_call, heartbeat_at=ago(150))

    outcome = jobs_sweep()

    assert outcome["requeued"] == [round_.pk]
    other.refresh_from_db()
    assert other.lease_token == "worker-1:7:00ab"


def test_a_job_resumed_too_often_fails_and_says_why():
    job = running(note_the_call, heartbeat_at=ago(stale()), retry_count=3)

    assert jobs_sweep()["failed"] == [job.pk]

    job.refresh_from_db()
    assert (job.status, job.error_message) == (JobStatus.FAILED, JOB_LOST_MESSAGE)


def test_a_message_no_worker_took_is_sent_again_and_one_just_sent_is_not(django_capture_on_commit_callbacks, settings):
    lost = JobFactory(task_name=note_the_call.name, enqueued_at=ago(settings.JOB_DEADLINE.total_seconds() + 60))
    queued = JobFactory(task_name=note_the_call.name, enqueued_at=ago(60))
    Job.objects.filter(pk__in=[lost.pk, queued.pk]).update(created_at=ago(7200))

    with django_capture_on_commit_callbacks(execute=True):
        outcome = jobs_sweep()

    assert outcome["requeued"] == [lost.pk] and [lost.pk] == CALLS
    queued.refresh_from_db()
    assert (queued.status, queued.retry_count) == (JobStatus.PENDING, 0)


# --- The heartbeat -----------------------------------------------------------------------------


def test_the_heartbeat_renews_the_job_and_every_claim_of_its_round_in_one_statement_each(
    django_assert_num_queries, settings
):
    job = running(tasks.tracking_cycle_task, type=TRACKING_JOB_TYPE, heartbeat_at=ago(60))
    products = ProductFactory.create_batch(30)
    claimed = products_claim(limit=30, product_ids=[p.pk for p in products], job_id=job.pk, now=ago(300))
    lease = JobLease(job)
    from catalog.services import products_claims_renew

    lease.renewers.append(lambda: products_claims_renew(job_id=job.pk))

    with django_assert_num_queries(2):
        assert lease.renew() is True

    job.refresh_from_db()
    assert job.heartbeat_at > ago(5)
    until = set(Product.objects.filter(pk__in=[p.pk for p in claimed]).values_list("refresh_claimed_until", flat=True))
    assert len(until) == 1 and until.pop() > timezone.now() + settings.REFRESH_CLAIM_DURATION - datetime.timedelta(5)


def test_the_heartbeat_stops_once_another_delivery_holds_the_job():
    job = running(note_the_call, heartbeat_at=ago(60))
    Job.objects.filter(pk=job.pk).update(lease_token=ANOTHER_WORKER)

    assert JobLease(job).renew() is False

    job.refresh_from_db()
    assert job.heartbeat_at < ago(50)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_beats_on_a_timer_while_the_work_waits():
    job = running(note_the_call, heartbeat_at=ago(60))
    lease = JobLease(job)
    beats = []
    lease.renewers.append(lambda: beats.append(time.monotonic()))

    lease.start(0.05)
    time.sleep(0.6)  # the task waits for a slow page or a rate-limit slot
    lease.stop()

    job.refresh_from_db()
    assert len(beats) >= 3 and job.heartbeat_at > ago(5)


# --- Rounds ----------------------------------------------------------------------------------


@pytest.fixture
def a_product_due():
    """Something for a round to do (an idle tick starts no round)."""
    from accounts.tests.factories import UserFactory

    UserFactory().tracked_products.add(ProductFactory(last_scraped_at=None))


@pytest.mark.usefixtures("a_product_due")
def test_a_stale_round_never_blocks_the_next_round(django_capture_on_commit_callbacks, settings):
    settings.TRACK_PARALLEL_ROUNDS = 1
    dead = running(tasks.tracking_cycle_task, type=TRACKING_JOB_TYPE, user=None, heartbeat_at=ago(stale("x")))
    with django_capture_on_commit_callbacks(execute=False):
        started = tasks.tracking_cycle_start()
    assert len(started) == 1 and started[0] != dead.pk

    with django_capture_on_commit_callbacks(execute=False):
        assert tasks.tracking_cycle_start() == []  # the new round is going (pending)


@pytest.mark.usefixtures("a_product_due")
def test_the_schedule_keeps_as_many_rounds_going_as_asked(django_capture_on_commit_callbacks, settings):
    settings.TRACK_PARALLEL_ROUNDS = 3
    running(tasks.tracking_cycle_task, type=TRACKING_JOB_TYPE, user=None, heartbeat_at=ago(5))

    with django_capture_on_commit_callbacks(execute=False):
        started = tasks.tracking_cycle_start()

    assert len(started) == 2
    assert Job.objects.filter(type=TRACKING_JOB_TYPE).unfinished().count() == 3
