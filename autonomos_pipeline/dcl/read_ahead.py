"""Read ahead: advance an iterator on a worker thread, one item ahead of its consumer."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
_END = object()


@contextmanager
def read_ahead(items: Iterator[T], name: str = "read-ahead") -> Generator[Iterator[T], None, None]:
    """Yield an iterator over items that fetches the next item on a worker thread while the caller works on the
    current one (a connector parses its next batch while the warehouse writes this one).

    One thread advances items, one call at a time, so the source needs no thread safety; at most two items are held
    at once. Errors of the source come out of the consumer's `next`. When the block ends normally (also after a
    `break`), the fetch in flight is waited for and a generator source is closed on the worker thread, so its
    resources (files, cursors, connections) are released before the caller's context ends. When it ends with an
    exception, nothing is waited for: the source is closed on the worker thread after its fetch, and the exception
    goes on at once (a fetch stuck on the network cannot hold back a failed write or an interrupt).
    """
    pool = ThreadPoolExecutor(1, thread_name_prefix=name)
    pending: Future[object] | None = None

    def fetch() -> Future[object]:
        return pool.submit(next, items, _END)

    def consume() -> Iterator[T]:
        nonlocal pending
        pending = fetch()
        while True:
            item = pending.result()
            pending = None
            if item is _END:
                return
            pending = fetch()
            yield item  # type: ignore[misc]

    close = getattr(items, "close", None)
    try:
        yield consume()
    except BaseException:
        # the caller failed or was interrupted: do not wait for a fetch that may hang on the network; the source is
        # closed on the worker thread once that fetch is over
        if close is not None:
            pool.submit(close)
        pool.shutdown(wait=False)
        raise
    try:
        if pending is not None:
            pending.exception()  # wait for the fetch in flight; what it fetched is dropped
        if close is not None:
            pool.submit(close).result()
    finally:
        pool.shutdown(wait=True)
