"""A queue of message batches from a link, for code that waits for an answer.

The link calls its subscribers on its reader thread. Code on another thread that would rather
wait (send a command, then read messages until the answer comes) subscribes a
:class:`MessageQueue` and calls :meth:`MessageQueue.get`::

    with MessageQueue(link) as messages:
        link.send("?")
        batch = messages.get(timeout=0.1)
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any, Protocol

from tinybench.wire.observers import Subscription
from tinybench.wire.protocol import Message

__all__ = ["BatchSource", "MessageQueue"]


class BatchSource(Protocol):
    """What a :class:`MessageQueue` reads: a link's ``subscribe(on_batch, on_error)``."""

    def subscribe(
        self,
        on_batch: Callable[[list[Message]], Any],
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> Subscription:
        """Call ``on_batch`` with every batch, and ``on_error`` when the reading stops."""
        ...


class MessageQueue:
    """Every batch of messages a link reads from now on, queued for another thread.

    Args:
        link: The :class:`~tinybench.wire.link.Link` to read from.
    """

    def __init__(self, link: BatchSource) -> None:
        self._queue: queue.SimpleQueue[list[Message] | BaseException] = queue.SimpleQueue()
        self._subscription = link.subscribe(self._queue.put, self._queue.put)

    def get(self, timeout: float | None = None) -> list[Message]:
        """Return the next batch, or an empty list after ``timeout`` seconds.

        Raises:
            UnplugError: The link's reader stopped because the device went away (and every
                later call raises it too).
        """
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        if isinstance(item, BaseException):
            self._queue.put(item)
            raise item
        return item

    def close(self) -> None:
        """Stop receiving batches. Safe to call twice."""
        self._subscription.close()

    def __enter__(self) -> MessageQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
