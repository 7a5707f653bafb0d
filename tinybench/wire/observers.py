"""The one observer API of tinybench: ``subscribe(callback) -> Subscription``, ``unsubscribe``.

Everything that tells others about news (a :class:`~tinybench.wire.link.Link`, a
``Recorder``, a ``LiveSession``) offers the same pair of methods::

    subscription = link.subscribe(on_batch, on_error)
    ...
    link.unsubscribe(subscription)        # or subscription.close(), or a with block

:class:`Subscription` is the handle ``subscribe`` returns; :class:`Observers` is the
thread-safe list of them that such an object keeps. Callbacks are called in the order they
subscribed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

__all__ = ["Observable", "Observers", "Subscription"]


class Observable(Protocol):
    """Anything that offers ``subscribe(callback) -> Subscription`` and ``unsubscribe``."""

    def subscribe(self, callback: Callable[..., Any], /) -> Subscription:
        """Call ``callback`` with every piece of news until unsubscribed."""
        ...

    def unsubscribe(self, subscription: Subscription, /) -> None:
        """Stop calling the subscription's callback."""
        ...


class Subscription:
    """One registered callback: what ``subscribe`` returns and ``unsubscribe`` takes back.

    Closing it (or leaving a ``with`` block) unsubscribes it from its owner. Closing twice, or
    closing after the owner already dropped it, does nothing.

    Args:
        owner: The object that calls the callback; its ``unsubscribe(self)`` is called on close.
        callback: The function called with each piece of news.
        on_error: A function called once with the error that ends the news, if any.

    Attributes:
        callback: The function called with each piece of news.
        on_error: The function called with an error that ends the news, or ``None``.
    """

    __slots__ = ("_owner", "callback", "on_error")

    def __init__(
        self,
        owner: object,
        callback: Callable[..., Any],
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> None:
        if not callable(callback):
            raise TypeError(f"subscribe() needs a callable, got {callback!r}")
        self._owner = owner
        self.callback = callback
        self.on_error = on_error

    def close(self) -> None:
        """Unsubscribe from the owner. Safe to call twice."""
        self._owner.unsubscribe(self)  # type: ignore[attr-defined]

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        name = getattr(self.callback, "__qualname__", repr(self.callback))
        return f"<Subscription {name} to {type(self._owner).__name__}>"


class Observers:
    """The subscriptions of one observable object, safe to change from any thread.

    Iterating gives a snapshot, so a callback may unsubscribe (itself or others) while the
    owner is calling everyone.

    Args:
        owner: The observable object the subscriptions belong to.
    """

    def __init__(self, owner: object) -> None:
        self._owner = owner
        self._lock = threading.Lock()
        self._subscriptions: tuple[Subscription, ...] = ()

    def add(
        self,
        callback: Callable[..., Any],
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> Subscription:
        """Register ``callback`` (and ``on_error``) and return its subscription."""
        subscription = Subscription(self._owner, callback, on_error)
        with self._lock:
            self._subscriptions = (*self._subscriptions, subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        """Drop ``subscription``; one that is not registered here is ignored.

        Raises:
            TypeError: ``subscription`` is not a :class:`Subscription` (for example the
                callback itself).
        """
        if not isinstance(subscription, Subscription):
            raise TypeError(
                f"unsubscribe() takes the Subscription that subscribe() returned, got "
                f"{subscription!r}"
            )
        with self._lock:
            self._subscriptions = tuple(s for s in self._subscriptions if s is not subscription)

    def __iter__(self) -> Iterator[Subscription]:
        return iter(self._subscriptions)

    def __len__(self) -> int:
        return len(self._subscriptions)
