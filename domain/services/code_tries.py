from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from domain.entities import OtpPurpose, email_key
from domain.errors import TooManyAttempts
from domain.rate_limiting import ThrottleState
from domain.services.throttle import requester

if TYPE_CHECKING:
    from uuid import UUID

    from domain.entities import Client
    from domain.policy import AuthPolicy
    from domain.ports import Clock, UnitOfWork
    from domain.services.throttle import Throttle

# Counters outlive the code they count against by this much, so that waiting does not
# bring back tries sooner than a new code would.
_MEMORY = timedelta(days=1)


def code_subject(purpose: OtpPurpose, address: str, user_id: UUID | None = None) -> str:
    """Whose tries a code's counters count: the address for codes anyone may ask for,
    the account for an e-mail change (only its signed-in owner asks)."""
    if purpose is OtpPurpose.CHANGE_EMAIL:
        return f"account:{user_id}"
    return email_key(address)


@dataclass(frozen=True)
class CodeTryCounters:
    everyone: str  # every requester's wrong codes since the last code was mailed
    this_requester: str  # the caller's network's wrong codes since then


class CodeTries:
    """The wrong codes an address has had since its last code was mailed.

    Counted the same whether or not the address has an account, or a code pending,
    so that ``TooManyAttempts`` tells a stranger nothing. Each requesting network
    has ``policy.otp_max_attempts`` tries per code, so a stranger cannot use up the
    owner's; every network together has ``policy.otp_max_attempts_all_networks``,
    which bounds guessing however many networks an attacker has. Mailing a new code
    (or answering a request as if one was mailed) gives everyone their tries back.

    The counters live in the throttle table: the first (``everyone``) row holds, as
    ``marked_at``, when the current code was mailed; a requester's row whose mark
    differs counts against an earlier code and starts again from zero.
    """

    def __init__(self, throttle: Throttle, clock: Clock, policy: AuthPolicy) -> None:
        self._throttle = throttle
        self._clock = clock
        self._policy = policy

    def _everyone(self, purpose: OtpPurpose, subject: str) -> str:
        return self._throttle.counter_key(f"code-tries:{purpose.value}", subject)

    def _counters(self, purpose: OtpPurpose, subject: str, client: Client) -> CodeTryCounters:
        return CodeTryCounters(
            everyone=self._everyone(purpose, subject),
            this_requester=self._everyone(purpose, requester(subject, client)),
        )

    async def restart(self, uow: UnitOfWork, purpose: OtpPurpose, subject: str) -> None:
        """A code of ``purpose`` was mailed for ``subject`` (or the answer said so): everyone's tries come back."""
        now = self._clock.now()

        def restarted(_: ThrottleState) -> tuple[ThrottleState, None]:
            return ThrottleState(count=0, marked_at=now, expires_at=now + self._policy.otp_lifetime + _MEMORY), None

        await uow.throttles.update(self._everyone(purpose, subject), restarted)

    async def admit(self, uow: UnitOfWork, purpose: OtpPurpose, subject: str, client: Client) -> CodeTryCounters:
        """Lock the counters of ``subject`` for one try; the caller reports a wrong code with ``failed``.

        Raises:
            TooManyAttempts: this requester, or everyone together, has had the tries of the current code.
        """
        counters = self._counters(purpose, subject, client)
        expires_at = self._clock.now() + self._policy.otp_lifetime + _MEMORY

        def read(state: ThrottleState) -> tuple[ThrottleState, ThrottleState]:
            # a first try makes the row: it must expire like any other
            kept = state if state.expires_at is not None else ThrottleState(expires_at=expires_at)
            return kept, kept

        everyone = await uow.throttles.update(counters.everyone, read)

        def synced(state: ThrottleState) -> tuple[ThrottleState, ThrottleState]:
            if state.marked_at == everyone.marked_at and state.expires_at is not None:
                return state, state
            fresh = ThrottleState(count=0, marked_at=everyone.marked_at, expires_at=expires_at)
            return fresh, fresh

        mine = await uow.throttles.update(counters.this_requester, synced)
        if everyone.count >= self._policy.otp_max_attempts_all_networks or mine.count >= self._policy.otp_max_attempts:
            raise TooManyAttempts
        return counters

    async def failed(self, uow: UnitOfWork, counters: CodeTryCounters) -> bool:
        """Count one wrong code; ``True`` if that was the last try this requester (or everyone) had."""
        expires_at = self._clock.now() + self._policy.otp_lifetime + _MEMORY

        def counted(state: ThrottleState) -> tuple[ThrottleState, int]:
            after = ThrottleState(state.count + 1, state.marked_at, max(expires_at, state.expires_at or expires_at))
            return after, after.count

        everyone = await uow.throttles.update(counters.everyone, counted)
        mine = await uow.throttles.update(counters.this_requester, counted)
        return everyone >= self._policy.otp_max_attempts_all_networks or mine >= self._policy.otp_max_attempts
