"""Ingest reads a connector's next batch on a worker thread while it writes the current one: the batches still come
in order and whole, a connector's error still stops the read where it happened, and the connector's generator is
closed (its files and cursors released) whenever the read ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from autonomos_pipeline.dcl.read_ahead import read_ahead


class Source:
    """A generator source that records which thread read each item and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.read: list[int] = []
        self.threads: set[str] = set()
        self.closed_on: str | None = None

    def items(self) -> Iterator[int]:
        try:
            for i in range(self.count):
                if i == self.fail_at:
                    raise ConnectionError(f"source failed at {i}")
                self.threads.add(threading.current_thread().name)
                self.read.append(i)
                yield i
        finally:
            self.closed_on = threading.current_thread().name


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("test-read")]


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_items_come_in_order_and_the_next_is_read_while_the_current_is_used() -> None:
    source = Source(5)
    seen = []
    with read_ahead(source.items(), "test-read") as items:
        for item in items:
            # while the consumer holds item, the worker fetches the next one (and no further)
            assert _wait_for(lambda item=item: len(source.read) == min(item + 2, 5))
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]
    assert source.read == [0, 1, 2, 3, 4], "one item ahead, never more"
    assert source.threads and all(name.startswith("test-read") for name in source.threads)
    assert source.closed_on is not None and source.closed_on.startswith("test-read")
    assert not _workers(), "a block that ends normally waits for its worker"


def test_a_source_error_comes_out_after_the_items_before_it() -> None:
    source = Source(5, fail_at=3)
    seen = []
    with pytest.raises(ConnectionError, match="source failed at 3"), read_ahead(source.items(), "test-read") as items:
        seen.extend(items)
    assert seen == [0, 1, 2]
    assert _wait_for(lambda: not _workers())


def test_stopping_early_closes_the_source_on_its_thread() -> None:
    source = Source(100)
    with pytest.raises(RuntimeError, match="write failed"), read_ahead(source.items(), "test-read") as items:
        for item in items:
            if item == 2:
                assert _wait_for(lambda: len(source.read) == 4)
                raise RuntimeError("write failed")
    assert _wait_for(lambda: source.closed_on is not None)
    assert source.read == [0, 1, 2, 3], "the one item fetched ahead is dropped, nothing more is read"
    assert source.closed_on is not None and source.closed_on.startswith("test-read")
    assert _wait_for(lambda: not _workers())

    source = Source(100)
    with read_ahead(source.items(), "test-read") as items:
        for item in items:
            if item == 1:
                break
    assert source.closed_on is not None and not _workers(), "a break closes the source before the block ends"


def test_a_failed_write_does_not_wait_for_a_slow_fetch() -> None:
    release = threading.Event()

    def slow() -> Iterator[int]:
        yield 0
        release.wait(10)  # the next fetch hangs, as a stalled network read would
        yield 1

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="write failed"), read_ahead(slow(), "test-read") as items:
        for _ in items:
            raise RuntimeError("write failed")
    assert time.monotonic() - started < 2, "the write's error comes out while the fetch still hangs"
    release.set()
    assert _wait_for(lambda: not _workers()), "the worker ends once its fetch is over"


def test_an_empty_source_yields_nothing() -> None:
    source = Source(0)
    with read_ahead(source.items(), "test-read") as items:
        assert list(items) == []
    assert source.closed_on is not None
