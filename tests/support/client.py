"""A GraphQL client of a running gateway (in-process or a real process), the documents it
sends, and the mailbox the gateway mails to."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.mail import SmtpSink
from tests.support.processes import GATEWAY, ROOT, RunningProcess, served

PASSWORD = "correct horse battery staple"


@dataclass
class Gateway:
    """An HTTP client of the running app, with the mailbox it sends to."""

    http: httpx.AsyncClient
    mailbox: SmtpSink
    app: Any = None  # the in-process app, or
    process: RunningProcess | None = None  # the gateway process
    last_response: httpx.Response | None = None  # of ``post``: its status, headers and Set-Cookie
    # In-process: after each ``post``, deliver what it queued, so the mailbox shows it at once
    # (off where a test times the answers: delivery is not part of them)
    settle_mail_after_requests: bool = True

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        self.last_response = response
        if self.app is not None and self.settle_mail_after_requests:
            await self.mail_settled()
        assert response.status_code == 200, response.text
        return response.json()

    async def mutate(
        self, field: str, query: str, variables: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        body = await self.post(query, variables, headers=headers)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"][field]
        return result

    async def stop_process(self) -> list[str]:
        """Stop the gateway process (SIGTERM, as a supervisor would) and return every line it logged."""
        assert self.process is not None, "not a gateway process"
        await self.process.stopped()
        return self.process.lines

    async def mail_settled(self) -> None:
        """Wait until the mail the gateway sends after answering is out: every outbox item due
        now is delivered (or postponed, if the mail server refuses). In-process gateways only."""
        await self.app.state.services.mail_dispatcher.settle()

    async def mail_retried_until(self, email: str, count: int = 1, within: float = 10.0) -> list[str]:
        """The bodies of the mails to ``email`` once there are ``count`` of them, letting the
        outbox retry what the mail server refused (in-process gateways; fails after ``within`` s)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(bodies := self.mailbox.bodies_to(email)) < count:
            assert loop.time() < deadline, f"{len(bodies)} of {count} mails to {email} within {within} s"
            await self.mail_settled()
            await asyncio.sleep(0.02)
        return bodies

    async def code_to(self, email: str) -> str:
        """The last code mailed to ``email``, once queued mail is out."""
        return await self.last_code(email)

    async def signed_in(self, field: str, query: str, variables: dict[str, Any] | None, token: str) -> dict[str, Any]:
        """``mutate`` (or query) as the holder of the access token ``token``."""
        body = await self.post(query, variables, token=token)
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"][field]
        return result

    async def resend_otp(self, email: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.mutate("resendOtp", RESEND_OTP, {"input": {"email": email}}, headers)

    async def request_password_reset(self, email: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.mutate("requestPasswordReset", REQUEST_PASSWORD_RESET, {"input": {"email": email}}, headers)

    async def reset_password(
        self, email: str, code: str, new_password: str, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        variables = {"input": {"email": email, "code": code, "newPassword": new_password}}
        return await self.mutate("resetPassword", RESET_PASSWORD, variables, headers)

    async def request_sign_in_code(self, email: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.mutate("requestSignInCode", REQUEST_SIGN_IN_CODE, {"input": {"email": email}}, headers)

    async def sign_in_with_code(self, email: str, code: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        variables = {"input": {"email": email, "code": code}}
        return await self.mutate("signInWithCode", SIGN_IN_WITH_CODE, variables, headers)

    async def logout(self, token: str) -> dict[str, Any]:
        return await self.signed_in("logout", LOGOUT, None, token)

    async def logout_all(self, token: str) -> dict[str, Any]:
        return await self.signed_in("logoutAll", LOGOUT_ALL, None, token)

    async def sessions(self, token: str) -> list[dict[str, Any]]:
        body = await self.post(SESSIONS, token=token)
        assert "errors" not in body, body
        result: list[dict[str, Any]] = body["data"]["sessions"]
        return result

    async def revoke_session(self, token: str, session_id: str) -> dict[str, Any]:
        return await self.signed_in("revokeSession", REVOKE_SESSION, {"id": session_id}, token)

    async def change_password(self, token: str, current: str | None, new: str) -> dict[str, Any]:
        variables = {"input": given(currentPassword=current, newPassword=new)}
        return await self.signed_in("changePassword", CHANGE_PASSWORD, variables, token)

    async def update_profile(self, token: str, **names: str | None) -> dict[str, Any]:
        return await self.signed_in("updateProfile", UPDATE_PROFILE, {"input": names}, token)

    async def request_email_change(self, token: str, new_email: str, password: str | None = PASSWORD) -> dict[str, Any]:
        variables = {"input": given(newEmail=new_email, password=password)}
        return await self.signed_in("requestEmailChange", REQUEST_EMAIL_CHANGE, variables, token)

    async def confirm_email_change(self, token: str, code: str) -> dict[str, Any]:
        return await self.signed_in("confirmEmailChange", CONFIRM_EMAIL_CHANGE, {"input": {"code": code}}, token)

    async def delete_account(self, token: str, password: str | None = PASSWORD) -> dict[str, Any]:
        return await self.signed_in("deleteAccount", DELETE_ACCOUNT, {"input": given(password=password)}, token)

    async def complete_sign_in(self, ticket: str, method: str, code: str) -> dict[str, Any]:
        variables = {"input": {"ticket": ticket, "method": method, "code": code}}
        return await self.mutate("completeSignIn", COMPLETE_SIGN_IN, variables)

    async def begin_totp_enrolment(self, token: str) -> dict[str, Any]:
        return await self.signed_in("beginTotpEnrolment", BEGIN_TOTP_ENROLMENT, None, token)

    async def confirm_totp_enrolment(self, token: str, code: str) -> dict[str, Any]:
        return await self.signed_in("confirmTotpEnrolment", CONFIRM_TOTP_ENROLMENT, {"input": {"code": code}}, token)

    async def regenerate_recovery_codes(self, token: str, password: str | None = PASSWORD) -> dict[str, Any]:
        variables = {"input": given(password=password)}
        return await self.signed_in("regenerateRecoveryCodes", REGENERATE_RECOVERY_CODES, variables, token)

    async def remove_totp(self, token: str, password: str | None = PASSWORD) -> dict[str, Any]:
        return await self.signed_in("removeTotp", REMOVE_TOTP, {"input": given(password=password)}, token)

    async def reauthenticate(
        self, token: str, method: str | None = None, code: str | None = None, *, password: str | None = None
    ) -> dict[str, Any]:
        variables = {"input": given(method=method, code=code, password=password)}
        return await self.signed_in("reauthenticate", REAUTHENTICATE, variables, token)

    async def second_factors(self, token: str) -> dict[str, Any]:
        return await self.signed_in("secondFactors", SECOND_FACTORS, None, token)

    async def last_code(self, email: str) -> str:
        """The code of the last mail to ``email``, once the mail due now is out (a gateway
        process: once a first mail to ``email`` has come, 10 seconds at most)."""
        if self.app is not None:
            await self.mail_settled()
        else:
            await asyncio.to_thread(self.mailbox.wait_for_code, email)
        bodies = self.mailbox.bodies_to(email)
        assert bodies, f"no mail to {email}"
        match = re.search(r"\b(\d{6})\b", bodies[-1])
        assert match, bodies[-1]
        return match.group(1)

    async def register(
        self, email: str, password: str = PASSWORD, headers: dict[str, str] | None = None, **names: str
    ) -> dict[str, Any]:
        variables = {"input": {"email": email, "password": password, **names}}
        return await self.mutate("register", REGISTER, variables, headers)

    async def verify(
        self, email: str, code: str, headers: dict[str, str] | None = None, *, password: str = PASSWORD
    ) -> dict[str, Any]:
        variables = {"input": {"email": email, "code": code, "password": password}}
        return await self.mutate("verifyOtp", VERIFY_OTP, variables, headers)

    async def login(
        self, email: str, password: str = PASSWORD, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return await self.mutate("login", LOGIN, {"input": {"email": email, "password": password}}, headers)

    async def refresh(self, refresh_token: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        variables = {"input": {"refreshToken": refresh_token}}
        return await self.mutate("refreshToken", REFRESH_TOKEN, variables, headers)

    async def refresh_from_cookie(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        """``refreshToken`` without input: the token is the refresh cookie the request carries."""
        return await self.mutate("refreshToken", REFRESH_FROM_COOKIE, {}, headers)

    async def me(self, token: str | None) -> Any:
        return await self.post(ME, token=token)

    async def signed_up(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        """Register and verify: the AuthPayload of a new, verified account."""
        await self.register(email, password)
        payload = await self.verify(email, await self.last_code(email), password=password)
        assert payload["__typename"] == "AuthPayload", payload
        return payload


ERROR_FIELDS = "... on Error { message code } ... on RateLimited { retryAfterSeconds }"
AUTH_PAYLOAD = "... on AuthPayload { accessToken refreshToken tokenType expiresIn user { id email emailVerified } }"
MFA_REQUIRED = "... on MfaRequired { ticket methods expiresAt }"

REGISTER = f"""mutation Register($input: RegisterInput!) {{
  register(input: $input) {{ __typename {ERROR_FIELDS}
    ... on OtpSent {{ email expiresAt }}
    ... on InvalidInput {{ fields {{ field message }} }} }} }}"""
VERIFY_OTP = f"""mutation VerifyOtp($input: VerifyOtpInput!) {{
  verifyOtp(input: $input) {{ __typename {ERROR_FIELDS} {AUTH_PAYLOAD}
    ... on InvalidInput {{ fields {{ field message }} }} }} }}"""
LOGIN = f"""mutation Login($input: LoginInput!) {{
  login(input: $input) {{ __typename {ERROR_FIELDS} {AUTH_PAYLOAD} {MFA_REQUIRED}
    ... on InvalidInput {{ fields {{ field message }} }} }} }}"""
REFRESH_TOKEN = f"""mutation Refresh($input: RefreshTokenInput!) {{
  refreshToken(input: $input) {{ __typename {ERROR_FIELDS} {AUTH_PAYLOAD} }} }}"""
REFRESH_FROM_COOKIE = f"""mutation RefreshFromCookie {{
  refreshToken {{ __typename {ERROR_FIELDS} {AUTH_PAYLOAD} }} }}"""


def given(**fields: Any) -> dict[str, Any]:
    """An input object of the ``fields`` that are not None: a left-out field, not a null."""
    return {name: value for name, value in fields.items() if value is not None}


ME = "query Me { me { id email firstName lastName emailVerified createdAt locale } }"
ERROR = "... on Error { message code }"  # for results without RateLimited
USER_FIELDS = "... on User { id email firstName lastName emailVerified locale }"
INVALID_INPUT_FIELDS = "... on InvalidInput { fields { field message } }"

RESEND_OTP = f"""mutation ResendOtp($input: ResendOtpInput!) {{
  resendOtp(input: $input) {{ __typename {ERROR_FIELDS}
    ... on OtpSent {{ email expiresAt }} {INVALID_INPUT_FIELDS} }} }}"""
REQUEST_PASSWORD_RESET = f"""mutation RequestPasswordReset($input: RequestPasswordResetInput!) {{
  requestPasswordReset(input: $input) {{ __typename {ERROR_FIELDS}
    ... on OtpSent {{ email expiresAt }} {INVALID_INPUT_FIELDS} }} }}"""
RESET_PASSWORD = f"""mutation ResetPassword($input: ResetPasswordInput!) {{
  resetPassword(input: $input) {{ __typename {ERROR_FIELDS} {AUTH_PAYLOAD} {MFA_REQUIRED}
    {INVALID_INPUT_FIELDS} }} }}"""
REQUEST_SIGN_IN_CODE = f"""mutation RequestSignInCode($input: RequestSignInCodeInput!) {{
  requestSignInCode(input: $input) {{ __typename {ERROR_FIELDS}
    ... on OtpSent {{ email expiresAt }} {INVALID_INPUT_FIELDS} }} }}"""
SIGN_IN_WITH_CODE = f"""mutation SignInWithCode($input: SignInWithCodeInput!) {{
  signInWithCode(input: $input) {{ __typename {ERROR_FIELDS} {AUTH_PAYLOAD} {MFA_REQUIRED}
    {INVALID_INPUT_FIELDS} }} }}"""
LOGOUT = "mutation Logout { logout { __typename endedSessions } }"
LOGOUT_ALL = "mutation LogoutAll { logoutAll { __typename endedSessions } }"
SESSIONS = """query Sessions { sessions {
  id createdAt lastUsedAt expiresAt clientIp userAgent current signInMethods authenticatedAt } }"""
REVOKE_SESSION = f"""mutation RevokeSession($id: ID!) {{
  revokeSession(id: $id) {{ __typename {ERROR} ... on SessionRevoked {{ id }} }} }}"""
CHANGE_PASSWORD = f"""mutation ChangePassword($input: ChangePasswordInput!) {{
  changePassword(input: $input) {{ __typename {ERROR_FIELDS}
    ... on PasswordChanged {{ endedOtherSessions }} {INVALID_INPUT_FIELDS} }} }}"""
UPDATE_PROFILE = f"""mutation UpdateProfile($input: UpdateProfileInput!) {{
  updateProfile(input: $input) {{ __typename {ERROR} {USER_FIELDS} {INVALID_INPUT_FIELDS} }} }}"""
REQUEST_EMAIL_CHANGE = f"""mutation RequestEmailChange($input: RequestEmailChangeInput!) {{
  requestEmailChange(input: $input) {{ __typename {ERROR_FIELDS}
    ... on OtpSent {{ email expiresAt }} {INVALID_INPUT_FIELDS} }} }}"""
CONFIRM_EMAIL_CHANGE = f"""mutation ConfirmEmailChange($input: ConfirmEmailChangeInput!) {{
  confirmEmailChange(input: $input) {{ __typename {ERROR_FIELDS} {USER_FIELDS} {INVALID_INPUT_FIELDS} }} }}"""
COMPLETE_SIGN_IN = f"""mutation CompleteSignIn($input: CompleteSignInInput!) {{
  completeSignIn(input: $input) {{ __typename {ERROR_FIELDS} {AUTH_PAYLOAD} {INVALID_INPUT_FIELDS} }} }}"""
BEGIN_TOTP_ENROLMENT = f"""mutation BeginTotpEnrolment {{
  beginTotpEnrolment {{ __typename {ERROR} ... on TotpEnrolment {{ secret otpauthUri qrCodeSvg }} }} }}"""
CONFIRM_TOTP_ENROLMENT = f"""mutation ConfirmTotpEnrolment($input: ConfirmTotpEnrolmentInput!) {{
  confirmTotpEnrolment(input: $input) {{ __typename {ERROR} ... on RecoveryCodes {{ codes }}
    {INVALID_INPUT_FIELDS} }} }}"""
REGENERATE_RECOVERY_CODES = f"""mutation RegenerateRecoveryCodes($input: RegenerateRecoveryCodesInput!) {{
  regenerateRecoveryCodes(input: $input) {{ __typename {ERROR_FIELDS} ... on RecoveryCodes {{ codes }} }} }}"""
REMOVE_TOTP = f"""mutation RemoveTotp($input: RemoveTotpInput!) {{
  removeTotp(input: $input) {{ __typename {ERROR_FIELDS} ... on TotpRemoved {{ recoveryCodesLeft }} }} }}"""
REAUTHENTICATE = f"""mutation Reauthenticate($input: ReauthenticateInput!) {{
  reauthenticate(input: $input) {{ __typename {ERROR_FIELDS} ... on Reauthenticated {{ validUntil }}
    {INVALID_INPUT_FIELDS} }} }}"""
SECOND_FACTORS = "query SecondFactors { secondFactors { totp recoveryCodesLeft } }"
DELETE_ACCOUNT = f"""mutation DeleteAccount($input: DeleteAccountInput!) {{
  deleteAccount(input: $input) {{ __typename {ERROR_FIELDS} ... on AccountDeleted {{ id }} }} }}"""


@asynccontextmanager
async def served_gateway(
    env: Mapping[str, str],
    mailbox: SmtpSink,
    command: Sequence[str] = GATEWAY,
    *,
    cwd: Path = ROOT,
    keepalive: bool = True,
    inherit_env: bool = True,
) -> AsyncIterator[Gateway]:
    """A gateway process (``python server.py`` by default) with ``env`` (see ``launch``), and a
    client of it; ``keepalive=False`` sends every request on a new connection."""
    limits = httpx.Limits() if keepalive else httpx.Limits(max_keepalive_connections=0)
    async with (
        served(env, command, cwd=cwd, inherit_env=inherit_env) as process,
        httpx.AsyncClient(base_url=process.url, timeout=10, limits=limits) as http,
    ):
        yield Gateway(http, mailbox, process=process)


GatewayFactory = Callable[..., Any]  # the ``gateway_factory`` fixture: keyword arguments override settings
