"""Client-side protection of each vendor: rate limits, a concurrency cap and a circuit breaker.

- Rate limits are token buckets (aiolimiter) per request category (read / write / search), sized
  from the manifest's `[rate_limits]`, so a burst from many agents queues here instead of
  tripping the vendor's 429s. When a vendor reports `X-RateLimit-Remaining: 0`, that category
  pauses until `X-RateLimit-Reset`.
- The concurrency cap bounds requests in flight per vendor.
- The circuit breaker opens after consecutive failures (5xx, 429, connection errors): further
  requests fail fast with a clear message until the cool-down passes, then one trial request
  decides whether it closes again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import anyio
from aiolimiter import AsyncLimiter

from ..errors import RateLimited, StateUnavailable, VendorUnavailable
from ..manifests import RateLimits as RateLimitTable
from ..state.base import Budget

log = logging.getLogger("tasklink")
#: the budget of one request category at a rate, shared by every worker (None: not shared)
SharedBudgets = Callable[[str, float], Budget | None]

#: what a manifest without a `[rate_limits]` table gets
DEFAULTS = RateLimitTable()
DEFAULT_RATE = DEFAULTS.per_second
DEFAULT_CONCURRENCY = DEFAULTS.max_concurrency


@dataclass
class LimitSettings:
    """The `[rate_limits]` table of a manifest, with TASKLINK_RATE_LIMITS applied."""

    per_second: dict[str, float] = field(default_factory=dict)
    default_per_second: float = DEFAULT_RATE
    max_concurrency: int = DEFAULT_CONCURRENCY
    breaker_threshold: int = DEFAULTS.breaker_threshold
    breaker_cooldown: float = DEFAULTS.breaker_cooldown_seconds

    @classmethod
    def from_manifest(cls, table: RateLimitTable, *, override: float | None = None) -> LimitSettings:
        """The manifest's pacing; `override` (TASKLINK_RATE_LIMITS) replaces every category's rate."""

        categories: dict[str, float] = {str(k): v for k, v in table.categories.items()}
        if override is not None:
            categories = dict.fromkeys(categories, float(override))
        return cls(
            per_second=categories,
            default_per_second=float(override if override is not None else table.per_second),
            max_concurrency=table.max_concurrency,
            breaker_threshold=table.breaker_threshold,
            breaker_cooldown=table.breaker_cooldown_seconds,
        )


class RateLimits:
    def __init__(
        self,
        settings: LimitSettings,
        *,
        vendor_title: str,
        clock: Callable[[], float] = time.time,
        shared: SharedBudgets | None = None,
    ):
        self.settings = settings
        self.vendor_title = vendor_title
        self.clock = clock
        self._buckets: dict[str, AsyncLimiter] = {}
        self._paused_until: dict[str, float] = {}
        #: the budgets every worker shares (PostgreSQL store); None: this process paces itself
        self._shared = shared
        self._shared_budgets: dict[str, Budget | None] = {}
        self._shared_failing = False

    def _bucket(self, category: str) -> AsyncLimiter:
        bucket = self._buckets.get(category)
        if bucket is None:
            rate = self.settings.per_second.get(category, self.settings.default_per_second)
            bucket = self._buckets[category] = AsyncLimiter(max(rate, 0.01), time_period=1.0)
        return bucket

    def _shared_budget(self, category: str) -> Budget | None:
        if self._shared is None:
            return None
        if category not in self._shared_budgets:
            self._shared_budgets[category] = self._shared(category, self._bucket(category).max_rate)
        return self._shared_budgets[category]

    async def acquire(self, category: str, *, budget: float) -> None:
        """Wait for a slot, for at most `budget` seconds; otherwise refuse without sending."""

        shared = self._shared_budget(category)
        if shared is not None and await self._take_shared(shared, category, budget):
            return
        bucket = self._bucket(category)
        paused_until = self._paused_until.get(category)
        pause = 0.0 if paused_until is None else paused_until - self.clock()
        if pause <= 0 and bucket.has_capacity():
            await bucket.acquire()  # a slot is free now: no wait, so no deadline to watch
            return
        if pause > budget:
            raise RateLimited(
                f"{self.vendor_title} asked for a pause of {pause:.0f} s (X-RateLimit-Reset); nothing was sent",
                retry_after=pause,
            )
        with anyio.move_on_after(budget) as scope:
            if pause > 0:
                await anyio.sleep(pause)
            await self._bucket(category).acquire()  # the bucket again: a pause may have replaced it
        if scope.cancelled_caught:
            raise RateLimited(
                f"Too many {self.vendor_title} requests are queued (client-side limit); nothing was sent",
                retry_after=max(1.0, budget),
            )

    async def _take_shared(self, shared: Budget, category: str, budget: float) -> bool:
        """One slot of the budget every worker shares; False when the store cannot be asked (then this process
        paces itself with its own bucket until the store answers again)."""

        try:
            wait = await shared.take(budget)
        except StateUnavailable as exc:
            if not self._shared_failing:
                log.warning(
                    "%s: the shared rate-limit budget is unavailable, pacing locally: %s", self.vendor_title, exc
                )
            self._shared_failing = True
            return False
        self._shared_failing = False
        paused_until = self._paused_until.get(category)
        wait = max(wait, 0.0 if paused_until is None else paused_until - self.clock())
        if wait > budget:
            raise RateLimited(
                f"Too many {self.vendor_title} requests are queued (the rate limit all workers share); nothing was "
                "sent",
                retry_after=max(1.0, wait),
            )
        if wait > 0:
            await anyio.sleep(wait)
        return True

    def observe(self, category: str, headers: Mapping[str, str]) -> None:
        """Adopt a lower `X-RateLimit-Limit`; honour `X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`."""

        self._adopt_limit(category, headers.get("x-ratelimit-limit"))
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            left, when = float(remaining), float(reset)
        except ValueError:
            return
        if left > 0:
            return
        now = self.clock()
        until = when if when > 1_000_000_000 else now + when
        if 0 < until - now <= 60:  # anything else is clock skew, not a hint worth waiting for
            self._paused_until[category] = until

    def _adopt_limit(self, category: str, value: str | None) -> None:
        try:
            announced = float(value) if value else 0.0
        except ValueError:
            return
        if 0 < announced < self._bucket(category).max_rate:
            self._buckets[category] = AsyncLimiter(announced, time_period=1.0)
            self._shared_budgets.pop(category, None)  # made again at the vendor's pace


class CircuitBreaker:
    def __init__(
        self, *, vendor_title: str, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.vendor_title = vendor_title
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if self.clock() - self.opened_at < self.cooldown else "half-open"

    def check(self) -> None:
        if self.state == "open":
            assert self.opened_at is not None
            wait = self.cooldown - (self.clock() - self.opened_at)
            raise VendorUnavailable(
                f"{self.vendor_title} failed {self.failures} times in a row, so tasklink is not calling it for "
                f"{wait:.0f} s more (circuit open); nothing was sent",
                hint=f"retry after {wait:.0f} s",
            )

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = self.clock()
