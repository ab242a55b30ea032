"""The Celery app's worker start-up."""

import gc

from celery import signals


def test_a_started_worker_moves_what_it_loaded_out_of_the_collectors_sight():
    gc.unfreeze()
    try:
        signals.worker_process_init.send(sender=None)
        assert gc.get_freeze_count() > 1000  # Django, the apps and their modules
    finally:
        gc.unfreeze()
