"""prefetch: the reader thread ahead of the sanitizer. A run that stops early must never hang on it."""

from __future__ import annotations

import threading
import time

import pytest

from sanitizer.stream import prefetch


def closes_within(seconds: float, generator) -> bool:
    """Close the generator in a thread (a hang must fail the test, not the suite)."""
    done = threading.Event()

    def close() -> None:
        generator.close()
        done.set()

    threading.Thread(target=close, daemon=True).start()
    return done.wait(seconds)


def test_items_arrive_in_order_and_end() -> None:
    assert list(prefetch(iter(range(50)), depth=2)) == list(range(50))


def test_a_reader_error_is_raised_to_the_consumer() -> None:
    def failing():
        yield 1
        raise RuntimeError("COPY failed")

    items = prefetch(failing(), depth=1)
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="COPY failed"):
        next(items)


@pytest.mark.parametrize("ending", ["end", "error"])
def test_stopping_early_does_not_hang_when_the_reader_is_done(ending: str) -> None:
    """The consumer stops (another stage failed) while the queue is full and the reader has reached the
    end of its table, or failed: the reader must not block for ever on handing that over."""
    def source():
        yield from (1, 2)
        if ending == "error":
            raise RuntimeError("COPY failed")

    items = prefetch(source(), depth=1)
    assert next(items) == 1
    time.sleep(0.3)  # the reader queues 2, then tries to hand over the end (or the error) to a full queue
    assert closes_within(5, items)
