import gc

from ledger.api.gc_tuning import YOUNG_THRESHOLD, tuned_collector


async def test_the_collector_is_tuned_while_the_app_runs_and_restored_at_shutdown():
    before = gc.get_threshold()
    async with tuned_collector(None):
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > 0  # what start-up built is kept out of collections
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
