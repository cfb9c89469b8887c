"""Bounded admission: ``max_concurrency`` predictions at once, ``max_queue`` more waiting.

Anything beyond is refused at once (503 with ``Retry-After``): requests never queue without a
bound. Waiters are served first come, first served; a freed slot is handed straight to the
oldest waiter.
"""

from __future__ import annotations

import asyncio
import collections


class OverloadedError(Exception):
    """No prediction slot is free and the queue is full."""


class Admission:
    """Prediction slots on one event loop. Each ``acquire`` (or true ``try_acquire``) must be
    paired with one ``release``.

    Args:
        max_concurrency: Predictions running at once.
        max_queue: Predictions allowed to wait for a slot.
    """

    def __init__(self, max_concurrency: int, max_queue: int) -> None:
        self.max_concurrency, self.max_queue = max_concurrency, max_queue
        self.running = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def try_acquire(self) -> bool:
        """Take a free slot if there is one and nobody is waiting for it."""
        if self.running < self.max_concurrency and not self._waiters:
            self.running += 1
            return True
        return False

    async def acquire(self) -> None:
        """Take a slot, waiting in the bounded queue when none is free.

        Raises:
            OverloadedError: No slot is free and ``max_queue`` requests already wait.
        """
        if self.try_acquire():
            return
        if len(self._waiters) >= self.max_queue:
            raise OverloadedError
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # resolved by release, which hands its slot over
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot arrived as we were cancelled: pass it on
            elif waiter in self._waiters:  # release may have dropped it already
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back: to the oldest waiter, else to the pool."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.running -= 1
