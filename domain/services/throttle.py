from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

from domain.entities import AuditEventType, email_key
from domain.errors import RateLimited
from domain.rate_limiting import CounterHit, LockoutPolicy, Rate, ThrottleState, seconds_to_wait
from domain.services.refusals import Counted, committing_refusals
from domain.validation import InputCollector, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client
    from domain.ports import Clock, UnitOfWork
    from domain.rate_limiting import SignInAttempt
    from domain.services.audit import AuditTrail


@dataclass(frozen=True)
class RateLimits:
    """Every limit of the gateway; ``server.py`` fills it from the settings.

    docs/security.md explains each default.
    """

    login_per_ip: Rate = Rate(30, timedelta(minutes=10))
    verify_per_ip: Rate = Rate(30, timedelta(minutes=10))
    # per address and requesting network: a stranger's tries never spend the owner's
    verify_per_account: Rate = Rate(10, timedelta(minutes=10))
    register_per_ip: Rate = Rate(20, timedelta(hours=1))
    # mails with a code or notice per address and requesting network …
    codes_per_account: Rate = Rate(5, timedelta(hours=1))
    # … and per address from every network together: what a mailbox can be made to receive
    codes_per_address: Rate = Rate(10, timedelta(hours=1))
    code_requests_per_ip: Rate = Rate(20, timedelta(hours=1))
    resend_cooldown: timedelta = timedelta(seconds=60)
    refresh_per_ip: Rate = Rate(120, timedelta(minutes=1))
    refresh_per_account: Rate = Rate(30, timedelta(minutes=1))
    # a signed-in person's password asked again (e-mail change, password change, deletion),
    # right or wrong: each costs a bcrypt check
    password_checks_per_account: Rate = Rate(10, timedelta(minutes=10))
    password_checks_per_ip: Rate = Rate(30, timedelta(minutes=10))
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)


# Names of the limits, as they appear in keys and in the audit log.
LOGIN_PER_IP = "login:ip"
LOGIN_PER_ACCOUNT = "login:account"
VERIFY_PER_IP = "verify:ip"
VERIFY_PER_ACCOUNT = "verify:account"  # subject: ``requester`` (address and network)
REGISTER_PER_IP = "register:ip"
CODES_PER_ACCOUNT = "codes:account"  # subject: ``requester`` (address and network)
CODES_PER_ADDRESS = "codes:address"
CODE_REQUESTS_PER_IP = "codes:ip"  # resendOtp and requestPasswordReset
RESEND_COOLDOWN = "resend:account"  # one verification code per address per cooldown
REFRESH_PER_IP = "refresh:ip"
REFRESH_PER_ACCOUNT = "refresh:account"
PASSWORD_CHECKS_PER_ACCOUNT = "password:account"  # noqa: S105 - a limit name, not a secret
PASSWORD_CHECKS_PER_IP = "password:ip"  # noqa: S105 - the same


def client_network(ip: str | None) -> str | None:
    """The unit a per-address limit counts: an IPv4 address, or an IPv6 address's /64."""
    if ip is None:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def requester(subject: str, client: Client) -> str:
    """``subject`` (an address's key) as asked about from the client's network.

    Budgets an owner needs (codes to her address, tries at them) are counted per
    requester, so a stranger spends his own and never hers.
    """
    return f"{subject}\x00{client_network(client.ip) or ''}"


class Throttle:
    """Applies the rate limits and the sign-in lockout, with counters in the database.

    Counter keys are HMACs of the limit's name and its subject (an IP address, an
    e-mail address, an account id), so the table holds no personal data.
    """

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        key: bytes,
        limits: RateLimits,
        clock: Clock,
        audit: AuditTrail,
        statements: Callable[[], UnitOfWork] | None = None,
    ) -> None:
        """``statements``: units of work outside a transaction (``uow`` if not given), for a lone hit."""
        self._uow = uow
        self._statements = statements or uow
        self._key = key
        self._limits = limits
        self._clock = clock
        self._audit = audit
        self._rates = {
            LOGIN_PER_IP: limits.login_per_ip,
            VERIFY_PER_IP: limits.verify_per_ip,
            VERIFY_PER_ACCOUNT: limits.verify_per_account,
            REGISTER_PER_IP: limits.register_per_ip,
            CODES_PER_ACCOUNT: limits.codes_per_account,
            CODES_PER_ADDRESS: limits.codes_per_address,
            PASSWORD_CHECKS_PER_ACCOUNT: limits.password_checks_per_account,
            PASSWORD_CHECKS_PER_IP: limits.password_checks_per_ip,
            CODE_REQUESTS_PER_IP: limits.code_requests_per_ip,
            RESEND_COOLDOWN: Rate(1, limits.resend_cooldown),
            REFRESH_PER_IP: limits.refresh_per_ip,
            REFRESH_PER_ACCOUNT: limits.refresh_per_account,
        }

    def counter_key(self, limit: str, subject: str) -> str:
        """The key of ``limit``'s counter for ``subject``: an HMAC, so no address is stored."""
        return hmac.new(self._key, f"{limit}\x00{subject}".encode(), hashlib.sha256).hexdigest()

    async def check_code_request(self, address: str, client: Client) -> None:
        """Count one mail to ``address`` (an e-mail key): the requester's budget, then the address's.

        Raises:
            RateLimited: this requester, or every requester together, has asked for enough.
        """
        async with self._uow() as uow, committing_refusals(uow):
            await self.check_code_request_in(uow, address, client)
            await uow.commit()

    async def check_code_request_in(
        self, uow: UnitOfWork, address: str, client: Client, user_id: UUID | None = None
    ) -> None:
        """``check_code_request``, counted in the caller's unit of work (see ``check_in``).

        Raises:
            Counted: carrying RateLimited.
        """
        await self.check_in(uow, CODES_PER_ACCOUNT, requester(address, client), client, user_id)
        await self.check_in(uow, CODES_PER_ADDRESS, address, client, user_id)

    async def cooling_down(self, limit: str, subject: str) -> bool:
        """Whether ``limit`` (a cooldown started by ``start_cooldown``) is still running for ``subject``."""
        async with self._uow() as uow:
            now = self._clock.now()

            def peek(state: ThrottleState) -> tuple[ThrottleState, bool]:
                # a row made just to be read may be purged at once
                kept = state if state.expires_at is not None else ThrottleState(expires_at=now)
                return kept, state.marked_at is not None and state.marked_at > now

            cooling = await uow.throttles.update(self.counter_key(limit, subject), peek)
            await uow.commit()
        return cooling

    async def check_client(self, limit: str, client: Client, statements: UnitOfWork | None = None) -> None:
        """``check`` with the client's address as the subject (its /64 network, for IPv6).

        One IPv6 customer usually holds a whole /64: counting single addresses
        would hand an attacker 2**64 fresh budgets.
        """
        await self.check(limit, client_network(client.ip), client, statements=statements)

    async def check(
        self,
        limit: str,
        subject: str | None,
        client: Client,
        user_id: UUID | None = None,
        statements: UnitOfWork | None = None,
    ) -> None:
        """Count one attempt against ``limit`` for ``subject``, atomic on its own (no transaction).

        A ``None`` subject (a client whose address the transport does not know) is
        not limited by it. ``user_id``: the account a refusal is audited for, if any.
        ``statements``: the caller's unit of work of single statements to count (and audit
        a refusal) in; else one of its own.

        Raises:
            RateLimited: the limit is reached; the refusal is in the audit log.
        """
        if subject is None:
            return
        if statements is None:
            async with self._statements() as own:
                await self.check(limit, subject, client, user_id, own)
            return
        wait = await statements.throttles.hit(self.counter_key(limit, subject), self._rates[limit], self._clock.now())
        if wait is not None:
            await self.refuse(statements, limit, client, wait, user_id)

    def counting(self, limit: str, subject: str | None) -> CounterHit | None:
        """``check``'s hit, for a repository to make in the statement of its own read or write
        (which then raises ``CounterRefused``: pass it to ``refuse``); ``None`` for a ``None``
        subject, which is not limited."""
        if subject is None:
            return None
        return CounterHit(self.counter_key(limit, subject), self._rates[limit], self._clock.now())

    def counting_client(self, limit: str, client: Client) -> CounterHit | None:
        """``counting`` with the client's address as the subject, as ``check_client`` counts it."""
        return self.counting(limit, client_network(client.ip))

    async def refuse(
        self, statements: UnitOfWork, limit: str, client: Client, wait: timedelta, user_id: UUID | None = None
    ) -> NoReturn:
        """Audit the refusal of a hit on ``limit`` (in ``statements``, single statements) and raise it.

        Raises:
            RateLimited: always.
        """
        # A refusal changes nothing else: its event is a statement of its own.
        await self._audit.record(statements, AuditEventType.RATE_LIMITED, client, user_id, detail=limit)
        raise RateLimited(seconds_to_wait(wait))

    async def check_in(
        self, uow: UnitOfWork, limit: str, subject: str, client: Client, user_id: UUID | None = None
    ) -> None:
        """``check``, counted in the caller's unit of work.

        A refusal is written to the audit log in the unit of work and raised as
        ``Counted``: the caller opens it with ``committing_refusals``.

        Raises:
            Counted: carrying RateLimited, the limit is reached.
        """
        wait = await self._hit(uow, limit, subject)
        if wait is not None:
            await self._audit.record(uow, AuditEventType.RATE_LIMITED, client, user_id, detail=limit)
            raise Counted(RateLimited(seconds_to_wait(wait)))

    async def _hit(self, uow: UnitOfWork, limit: str, subject: str) -> timedelta | None:
        return await uow.throttles.hit(self.counter_key(limit, subject), self._rates[limit], self._clock.now())

    async def start_cooldown(self, uow: UnitOfWork, limit: str, subject: str) -> None:
        """Spend ``limit``'s whole budget for ``subject`` now, refused or not: the next
        ``check`` waits a full window. For a cooldown (a rate of 1 per window) that
        runs from an event, such as a mailed code, rather than from the last check.
        """
        rate = self._rates[limit]
        until = self._clock.now() + rate.window

        def restart(_: ThrottleState) -> tuple[ThrottleState, None]:
            return ThrottleState(marked_at=until, expires_at=until), None

        await uow.throttles.update(self.counter_key(limit, subject), restart)

    async def begin_sign_in(self, account: str, client: Client) -> int:
        """Admit one password check for ``account`` (an e-mail key), counted as failed until it succeeds.

        Unknown addresses are counted the same way, so a lockout tells nobody
        whether an account exists.

        Returns:
            How many failures in a row this attempt would make.

        Raises:
            RateLimited: the account must wait, or (``locked``) is locked.
        """

        def change(state: ThrottleState) -> tuple[ThrottleState, SignInAttempt]:
            return self._limits.lockout.begin_attempt(state, now=self._clock.now())  # under the row lock

        async with self._uow() as uow:
            attempt = await uow.throttles.update(self.counter_key(LOGIN_PER_ACCOUNT, account), change)
            if attempt.wait is not None:
                await self._audit.record(uow, AuditEventType.RATE_LIMITED, client, detail=LOGIN_PER_ACCOUNT)
            await uow.commit()
        if attempt.wait is not None:
            raise RateLimited(seconds_to_wait(attempt.wait), locked=attempt.locked)
        return attempt.failures

    async def sign_in_failed(
        self,
        failures: int,
        event: AuditEventType,
        client: Client,
        user_id: UUID | None,
        detail: str | None = None,
    ) -> None:
        """Write the failed password check (``event``) to the audit log, and ``account_locked``
        with it when this failure (counted by ``begin_sign_in``) is the one that locks the account.
        """
        async with self._uow() as uow:
            await self._audit.record(uow, event, client, user_id, detail)
            if failures == self._limits.lockout.hard_limit:
                await self._audit.record(uow, AuditEventType.ACCOUNT_LOCKED, client, user_id)
            await uow.commit()

    async def sign_in_succeeded(self, uow: UnitOfWork, account: str) -> None:
        """End the account's failure streak, in the unit of work of the sign-in."""
        await uow.throttles.clear(self.counter_key(LOGIN_PER_ACCOUNT, account))

    async def unlock(self, email: str) -> None:
        """Forget the failure streak of ``email``'s account: the operator's "unlock".

        Raises:
            InvalidInput: ``email`` is not an e-mail address.
        """
        errors = InputCollector()
        email = normalise_email(email, errors)
        errors.raise_if_any()
        async with self._uow() as uow:
            await uow.throttles.clear(self.counter_key(LOGIN_PER_ACCOUNT, email_key(email)))
            await uow.commit()
