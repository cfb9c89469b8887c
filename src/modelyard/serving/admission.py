"""Bounded admission: ``max_concurrency`` slots, ``max_queue`` requests waiting for them.

A prediction request holds its slots from before its body is read until its answer is ready,
so reading, validating and predicting are all bounded. It takes one slot per started
``SLOT_BYTES`` of body (a one-record request takes one; a 2.5 MB batch forty, up to all of
them): bodies held in memory are bounded by the slots, whatever their size. Anything beyond
the queue is refused at once (503 with ``Retry-After``): requests never queue without a bound.
Waiters are served first come, first served; freed slots go straight to the oldest waiter.
"""

from __future__ import annotations

import asyncio
import collections

SLOT_BYTES = 64 * 1024


class OverloadedError(Exception):
    """No slot is free and the queue is full."""


class Admission:
    """Slots on one event loop. Each ``acquire`` (or true ``try_acquire``) of ``weight`` slots
    must be paired with one ``release`` of the same weight.

    Args:
        max_concurrency: Slots.
        max_queue: Requests allowed to wait for slots.
    """

    def __init__(self, max_concurrency: int, max_queue: int) -> None:
        self.max_concurrency, self.max_queue = max_concurrency, max_queue
        self.running = 0
        self._waiters: collections.deque[tuple[asyncio.Future[None], int]] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def weight(self, body_bytes: int | None) -> int:
        """Return the slots a body of ``body_bytes`` takes (unknown length: all of them)."""
        if body_bytes is None:
            return self.max_concurrency
        return min(1 + body_bytes // SLOT_BYTES, self.max_concurrency)

    def try_acquire(self, weight: int = 1) -> bool:
        """Take ``weight`` free slots if there are and nobody is waiting for them."""
        if self.running + weight <= self.max_concurrency and not self._waiters:
            self.running += weight
            return True
        return False

    async def acquire(self, weight: int = 1) -> None:
        """Take ``weight`` slots, waiting in the bounded queue when they are not free.

        Raises:
            OverloadedError: The slots are not free and ``max_queue`` requests already wait.
        """
        if self.try_acquire(weight):
            return
        if len(self._waiters) >= self.max_queue:
            raise OverloadedError
        waiter = asyncio.get_running_loop().create_future()
        entry = (waiter, weight)
        self._waiters.append(entry)
        try:
            await waiter  # resolved by release, which hands the slots over
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(weight)  # the slots arrived as we were cancelled: pass them on
            elif entry in self._waiters:  # release may have dropped it already
                self._waiters.remove(entry)
                self._wake()  # a heavy waiter leaving may let lighter ones in
            raise

    def release(self, weight: int = 1) -> None:
        """Give ``weight`` slots back: to the oldest waiters that fit, else to the pool."""
        self.running -= weight
        self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter, weight = self._waiters[0]
            if waiter.done():
                self._waiters.popleft()
                continue
            if self.running + weight > self.max_concurrency:
                return
            self._waiters.popleft()
            self.running += weight
            waiter.set_result(None)
