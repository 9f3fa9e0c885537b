from __future__ import annotations

from typing import TYPE_CHECKING

from domain.entities import EMAIL_CODE_ONLY, UNKNOWN_CLIENT, AuditEventType, AuthMethod, OtpPurpose, email_key
from domain.errors import AuthError, EmailAlreadyTaken, InvalidOtp, OtpExpired
from domain.secrets import secret_hash
from domain.services.code_tries import code_subject
from domain.services.new_accounts import add_account, admitted_code_request
from domain.services.refusals import committing_refusals
from domain.services.throttle import CODE_REQUESTS_PER_IP, VERIFY_PER_ACCOUNT, VERIFY_PER_IP, requester
from domain.validation import InputCollector, normalise_email

if TYPE_CHECKING:
    from collections.abc import Callable
    from uuid import UUID

    from domain.entities import Client, MfaRequired, OtpSent, SignedIn, User
    from domain.policy import AuthPolicy
    from domain.ports import Clock, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.otp_checker import OtpChecker
    from domain.services.otp_sender import OtpSender
    from domain.services.second_factors import SecondFactorService
    from domain.services.session_starter import SessionStarter
    from domain.services.throttle import Throttle

SIGNED_IN_WITH_CODE = "email_code"  # the audit detail of a LOGIN_SUCCEEDED by a mailed code
SIGNED_IN_WITH_LINK = "email_link"  # the same, by the link in the code's mail
LINK_TOKEN_MAX_LENGTH = 128  # ours are 43 characters


class CodeSignInService:
    """Passwordless sign-in: a code mailed to the address signs its account in.

    The code is the proof, so the password's failure streak (the lockout) does not stand in
    its way: whoever hammers an address's password cannot keep its owner out. Its own wrong
    codes are budgeted like every mailed code's (``OtpChecker``) and the tries per client
    and address like a reset's.
    """

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        otp_sender: OtpSender,
        checker: OtpChecker,
        sessions: SessionStarter,
        second_factors: SecondFactorService,
        clock: Clock,
        policy: AuthPolicy,
        throttle: Throttle,
        audit: AuditTrail,
    ) -> None:
        self._uow = uow
        self._otp_sender = otp_sender
        self._checker = checker
        self._sessions = sessions
        self._second_factors = second_factors
        self._clock = clock
        self._policy = policy
        self._throttle = throttle
        self._audit = audit

    async def request(self, email: str, client: Client = UNKNOWN_CLIENT) -> OtpSent:
        """Mail a sign-in code to ``email`` if it may sign in with one; the same answer either way.

        A verified account gets a code. An address without one gets a code only when
        ``policy.sign_in_code_creates_accounts`` is on (an account without a password is
        made for it, confirmed by the code); so does a sign-up nobody confirmed yet. Anyone
        else gets no mail at all: the answer is the requester's, the mail the mailbox's.

        Raises:
            InvalidInput: ``email`` is not an e-mail address.
            RateLimited: too many requests from this client, or mails to this address.
        """
        email = await admitted_code_request(self._throttle, CODE_REQUESTS_PER_IP, email, client)
        try:
            return await self._request(email, client)
        except EmailAlreadyTaken:
            # Another request made the account between our lookup and insert; now it is found.
            return await self._request(email, client)

    async def _request(self, email: str, client: Client) -> OtpSent:
        async with self._uow() as uow:
            found = await uow.users.get_by_email(email)
            now = self._clock.now()
            user = self._policy.account(found, now)
            creates = self._policy.sign_in_code_creates_accounts
            if user is None and creates:
                # a sign-up nobody confirmed in time (found) is gone, as registering again does
                user = await add_account(uow, email, now, verified=False, replacing=found)
            if user is None or not (user.email_verified or creates):
                sent = await self._otp_sender.no_code(uow, email, OtpPurpose.SIGN_IN)
                await uow.commit()
                return sent
            sent = await self._otp_sender.send(uow, user, client, OtpPurpose.SIGN_IN, to=email)
            await self._audit.record(uow, AuditEventType.SIGN_IN_CODE_REQUESTED, client, user.id)
            await uow.commit()
        return sent

    async def sign_in(self, email: str, code: str, client: Client = UNKNOWN_CLIENT) -> SignedIn | MfaRequired:
        """Sign in with the code mailed to ``email``; an account with a second factor answers
        the ticket of the second step (``MfaRequired``) instead.

        A code for an unconfirmed account (``sign_in_code_creates_accounts``) confirms the
        address, and any password typed at a sign-up before it goes: it was chosen before the
        address was proven, and whoever proves it now did not show it.

        Raises:
            InvalidInput: a malformed address or code.
            InvalidOtp: an address that may not sign in with a code, no code pending, or a wrong or spent code.
            OtpExpired: the right code, too late.
            TooManyAttempts: this code has had its allowed wrong tries; ask for a new one.
            RateLimited: too many tries from this client or for this address.
        """
        await self._throttle.check_client(VERIFY_PER_IP, client)
        errors = InputCollector()
        email = normalise_email(email, errors)
        code = self._checker.normalise(code, errors)
        errors.raise_if_any()
        await self._throttle.check(VERIFY_PER_ACCOUNT, requester(email_key(email), client), client)

        user_id: UUID | None = None
        try:
            async with self._uow() as uow, committing_refusals(uow):
                user = self._policy.account(await uow.users.get_by_email(email), self._clock.now())
                user_id = user.id if user else None
                may_sign_in = user is not None and (user.email_verified or self._policy.sign_in_code_creates_accounts)
                subject = code_subject(OtpPurpose.SIGN_IN, email)
                owner = user.id if user is not None and may_sign_in else None
                await self._checker.consume(uow, OtpPurpose.SIGN_IN, subject, owner, code, client)
                if user is None:  # pragma: no cover - consume found no code to match
                    raise InvalidOtp
                signed_in = await self._signed_in(uow, user, client)
                await uow.commit()
        except AuthError as failure:
            await self._audit.record_alone(AuditEventType.SIGN_IN_CODE_FAILED, client, user_id, type(failure).__name__)
            raise
        return signed_in

    async def sign_in_with_link(self, token: str, client: Client = UNKNOWN_CLIENT) -> SignedIn | MfaRequired:
        """Sign in with the token of the link in a sign-in code's mail (SIGN_IN_LINK_URL): the
        code in another shape, spent with it (using either spends both), with its expiry and the
        same rules of who may sign in. The token is 32 random bytes, so its wrong tries are
        counted per client only (``VERIFY_PER_IP``): a wrong one names no address to count against.

        Raises:
            InvalidOtp: an unknown or spent token, or an address that may no longer sign in with a code.
            OtpExpired: the right token, too late.
            RateLimited: too many tries from this client.
        """
        await self._throttle.check_client(VERIFY_PER_IP, client)
        user_id: UUID | None = None
        try:
            if not token or len(token) > LINK_TOKEN_MAX_LENGTH:
                raise InvalidOtp
            async with self._uow() as uow:
                challenge = await uow.otps.get_by_link_for_update(secret_hash(token))
                if challenge is None or challenge.purpose is not OtpPurpose.SIGN_IN:
                    raise InvalidOtp
                user_id = challenge.user_id
                now = self._clock.now()
                if now >= challenge.expires_at:
                    raise OtpExpired
                user = self._policy.account(await uow.users.get_for_update(challenge.user_id), now)
                if user is None or not (user.email_verified or self._policy.sign_in_code_creates_accounts):
                    raise InvalidOtp
                await uow.otps.delete(challenge)
                signed_in = await self._signed_in(uow, user, client, SIGNED_IN_WITH_LINK)
                await uow.commit()
        except AuthError as failure:
            detail = f"link:{type(failure).__name__}"
            await self._audit.record_alone(AuditEventType.SIGN_IN_CODE_FAILED, client, user_id, detail)
            raise
        return signed_in

    async def _signed_in(
        self, uow: UnitOfWork, user: User, client: Client, how: str = SIGNED_IN_WITH_CODE
    ) -> SignedIn | MfaRequired:
        if not user.email_verified:
            user.email_verified = True
            user.password_hash = None
            await uow.users.save(user)
            await self._audit.record(uow, AuditEventType.ACCOUNT_CREATED_BY_SIGN_IN_CODE, client, user.id)
        # With a second factor the mailbox is not enough: the sign-in waits for it, and the
        # password's failure streak ends only when it comes.
        mfa = await self._second_factors.challenge(uow, user, first_factor=AuthMethod.ONE_TIME_PASSWORD)
        if mfa is not None:
            return mfa
        await self._throttle.sign_in_succeeded(uow, user.email_key)
        signed_in = await self._sessions.start(uow, user, client, EMAIL_CODE_ONLY)
        await self._audit.record(
            uow, AuditEventType.LOGIN_SUCCEEDED, client, user.id, how, session_id=signed_in.session_id
        )
        return signed_in
