import asyncio
import time

from ledger.eventstore.notify import Wakeup


async def test_a_woken_follower_returns_no_earlier_than_its_gap_allows():
    wakeup = Wakeup()
    generation = wakeup.current()
    wakeup.fire()
    started = time.monotonic()
    assert await Wakeup.wait(generation, 1.0, not_before=started + 0.05)
    assert time.monotonic() - started >= 0.045


async def test_a_follower_whose_gap_has_passed_returns_as_soon_as_it_is_woken():
    wakeup = Wakeup()
    generation = wakeup.current()
    asyncio.get_running_loop().call_later(0.01, wakeup.fire)
    started = time.monotonic()
    assert await Wakeup.wait(generation, 1.0, not_before=started - 1)
    assert time.monotonic() - started < 0.5


async def test_a_follower_nobody_wakes_returns_after_the_timeout_without_the_gap():
    generation = Wakeup().current()
    started = time.monotonic()
    assert not await Wakeup.wait(generation, 0.02, not_before=started + 5)
    assert time.monotonic() - started < 1
