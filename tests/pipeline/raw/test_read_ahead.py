"""Ingest reads a connector's next batch on a worker thread while it writes the current one: the batches still come
in order and whole, a connector's error still stops the read where it happened, and the connector's generator is
closed (its files and cursors released) whenever the read ends."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

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


def test_items_come_in_order_and_the_next_is_read_while_the_current_is_used() -> None:
    source = Source(5)
    seen = []
    ahead = []
    with read_ahead(source.items(), "test-read") as items:
        for item in items:
            time.sleep(0.05)  # the consumer's work: the worker fetches the next item meanwhile
            ahead.append(len(source.read) - 1 - item)
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]
    assert ahead[:4] == [1, 1, 1, 1], "one item ahead, never more"
    assert source.threads and all(name.startswith("test-read") for name in source.threads)
    assert source.closed_on is not None and source.closed_on.startswith("test-read")
    assert not _workers()


def test_a_source_error_comes_out_after_the_items_before_it() -> None:
    source = Source(5, fail_at=3)
    seen = []
    with pytest.raises(ConnectionError, match="source failed at 3"), read_ahead(source.items(), "test-read") as items:
        seen.extend(items)
    assert seen == [0, 1, 2]
    assert not _workers()


def test_stopping_early_closes_the_source_on_its_thread() -> None:
    source = Source(100)
    with pytest.raises(RuntimeError, match="write failed"), read_ahead(source.items(), "test-read") as items:
        for item in items:
            if item == 2:
                raise RuntimeError("write failed")
    assert source.read == [0, 1, 2, 3], "the one item fetched ahead is dropped, nothing more is read"
    assert source.closed_on is not None and source.closed_on.startswith("test-read")
    assert not _workers()


def test_an_empty_source_yields_nothing() -> None:
    source = Source(0)
    with read_ahead(source.items(), "test-read") as items:
        assert list(items) == []
    assert source.closed_on is not None
