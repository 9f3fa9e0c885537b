from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING

from domain import messages
from domain.entities import AuditEventType, MailKind, OtpChallenge, OtpPurpose, OtpSent
from domain.secrets import secret_hash
from domain.services.code_tries import code_subject

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from domain.entities import Client, User
    from domain.otp import OtpCodes
    from domain.policy import AuthPolicy
    from domain.ports import Clock, Outbox, UnitOfWork
    from domain.services.audit import AuditTrail
    from domain.services.code_tries import CodeTries

_MAIL_KINDS = {
    OtpPurpose.VERIFY_EMAIL: MailKind.VERIFY_EMAIL,
    OtpPurpose.RESET_PASSWORD: MailKind.RESET_PASSWORD,
    OtpPurpose.CHANGE_EMAIL: MailKind.CHANGE_EMAIL,
    OtpPurpose.SIGN_IN: MailKind.SIGN_IN_CODE,
}


class OtpSender:
    """Replaces a user's pending code of one purpose with a new one and mails it.

    Runs inside the caller's unit of work: the code and its mail (in the outbox) are
    written together, and the mail goes out once the caller commits, after the answer.
    """

    def __init__(
        self, codes: OtpCodes, tries: CodeTries, outbox: Outbox, clock: Clock, policy: AuthPolicy, audit: AuditTrail
    ) -> None:
        self._audit = audit
        self._tries = tries
        self._codes = codes
        self._outbox = outbox
        self._clock = clock
        self._policy = policy

    def expiry_from_now(self) -> datetime:
        """When a code sent now would expire; also what a no-code answer must show."""
        return self._clock.now() + self._policy.otp_lifetime

    async def no_code(
        self,
        uow: UnitOfWork,
        address: str,
        purpose: OtpPurpose = OtpPurpose.VERIFY_EMAIL,
        user_id: UUID | None = None,
    ) -> OtpSent:
        """The answer ``send`` would give, for an address that gets no code; the caller commits.

        Everything a code changes that a stranger could notice changes here too:
        the tries at the address's codes start again, and (for an e-mail change,
        whose codes are ``user_id``'s) the code mailed before is void.
        """
        if user_id is not None and (earlier := await uow.otps.get_for_update(user_id, purpose)) is not None:
            await uow.otps.delete(earlier)
        await self._tries.restart(uow, purpose, code_subject(purpose, address, user_id))
        return OtpSent(email=address, expires_at=self.expiry_from_now())

    async def send(
        self,
        uow: UnitOfWork,
        user: User,
        client: Client,
        purpose: OtpPurpose = OtpPurpose.VERIFY_EMAIL,
        to: str | None = None,
    ) -> OtpSent:
        """Store a new code of ``purpose`` for ``user`` and queue its mail to ``to``; the caller commits.

        ``to`` is the address as the requester typed it (``user.email`` when not
        given): a code never goes to a spelling nobody asked for. For CHANGE_EMAIL
        it is the new address, which the account moves to.
        """
        now = self._clock.now()
        code = self._codes.generate()
        link_url = self._policy.sign_in_link_url if purpose is OtpPurpose.SIGN_IN else None
        link_token = secrets.token_urlsafe(32) if link_url else None
        # The token rides in the fragment, which browsers never send: no server's log sees it.
        link = f"{link_url}#token={link_token}" if link_token else None
        challenge = OtpChallenge(
            id=uuid.uuid4(),
            user_id=user.id,
            purpose=purpose,
            code_hmac=self._codes.digest(user.id, purpose, code),
            expires_at=now + self._policy.otp_lifetime,
            created_at=now,
            new_email=to if purpose is OtpPurpose.CHANGE_EMAIL else None,
            link_hash=secret_hash(link_token) if link_token else None,
        )
        to = to or user.email
        await uow.otps.replace(challenge)
        await self._tries.restart(uow, purpose, code_subject(purpose, to, user.id))
        await self._audit.record(uow, AuditEventType.CODE_SENT, client, user.id, detail=purpose.value)
        lifetime_seconds = int(self._policy.otp_lifetime.total_seconds())
        # the account's language, else the requester's: a code to an address without an
        # account is written in the language of whoever asked for it
        locale = self._policy.mail_locale(user.locale, client)
        kind = _MAIL_KINDS[purpose]
        mail = messages.code(to, kind, self._policy.product_name, code, lifetime_seconds, locale=locale, link=link)
        await self._outbox.queue(uow, mail)
        return OtpSent(email=to, expires_at=challenge.expires_at)
