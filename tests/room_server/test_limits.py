"""The per-connection request bucket, with a clock the test turns."""

from __future__ import annotations

import pytest

from room_server.limits import RequestBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = RequestBucket(rate=4, burst=30, clock=clock)
    assert all(bucket.take() for _ in range(30))
    assert not bucket.take()
    clock.now += 0.25  # one more token
    assert bucket.take()
    assert not bucket.take()
    clock.now += 60  # a long pause refills up to the burst, no further
    assert sum(bucket.take() for _ in range(100)) == 30


def test_refused_in_a_row_counts_the_flood_and_resets() -> None:
    clock = Clock()
    bucket = RequestBucket(rate=1, burst=2, clock=clock)
    assert bucket.take() and bucket.take()
    for expected in range(1, 6):
        assert not bucket.take()
        assert bucket.refused_in_a_row == expected
    clock.now += 1
    assert bucket.take()
    assert bucket.refused_in_a_row == 0


def test_a_clock_stepping_back_refills_nothing() -> None:
    clock = Clock()
    bucket = RequestBucket(rate=5, burst=1, clock=clock)
    assert bucket.take()
    clock.now -= 50
    assert not bucket.take()


def test_a_chair_paging_at_seven_pages_a_second_is_never_refused() -> None:
    clock = Clock()
    bucket = RequestBucket(rate=10, burst=30, clock=clock)
    for _ in range(10_000):
        assert bucket.take()
        clock.now += 1 / 7


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 5), (1, 0)])
def test_nonsense_limits_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        RequestBucket(rate, burst)


def test_a_batch_takes_one_token_per_operation_and_past_the_burst_leaves_a_debt() -> None:
    clock = Clock()
    bucket = RequestBucket(rate=2, burst=3, clock=clock)
    assert bucket.take(2)
    assert not bucket.take(2)  # one left: a batch of two waits
    clock.now += 1  # three again
    assert bucket.take(11)  # past the burst: let through when full, owing eight
    assert not bucket.available()
    clock.now += 4  # the debt is paid off, nothing more
    assert not bucket.take()
    clock.now += 0.5
    assert bucket.take()
