"""``beginTotpEnrolment``: a secret and its QR code for an authenticator app."""

from __future__ import annotations

import io
from typing import Annotated

import segno
import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from domain import errors
from resolvers.context import Context  # noqa: TC001
from resolvers.error_results import error_result
from resolvers.permissions import SIGNED_IN
from resolvers.sensitivity import NOT_SENSITIVE
from resolvers.types import SecondFactorAlreadyEnabled, SecondFactorsOff


@strawberry.type(
    description=(
        "Show `qrCodeSvg` (or `secret`, to type in) to the person; the app is on once "
        "confirmTotpEnrolment gets a first code from it."
    )
)
class TotpEnrolment:
    secret: str = strawberry.field(description="Base32, for apps that cannot scan a QR code.")
    otpauth_uri: str = strawberry.field(description="The otpauth:// URI the QR code holds.")
    qr_code_svg: str = strawberry.field(description="The QR code as an SVG document, made by the gateway.")


BeginTotpEnrolmentResult = Annotated[
    TotpEnrolment | SecondFactorAlreadyEnabled | SecondFactorsOff, strawberry.union("BeginTotpEnrolmentResult")
]


def qr_code_svg(uri: str) -> str:
    """``uri`` as a QR code, an SVG document (no network, no external reference)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True, title="QR code")
    return out.getvalue().decode("utf-8")


async def begin_totp_enrolment(info: Info[Context, None]) -> BeginTotpEnrolmentResult:
    """Start setting up an authenticator app (a new secret replaces one not yet confirmed)."""
    principal = await info.context.signed_in()
    try:
        provisioning = await info.context.services.second_factors.begin_totp(principal)
    except errors.AuthError as failure:
        return error_result(failure, BeginTotpEnrolmentResult)
    return TotpEnrolment(
        secret=provisioning.secret, otpauth_uri=provisioning.uri, qr_code_svg=qr_code_svg(provisioning.uri)
    )


field = strawberry.mutation(resolver=begin_totp_enrolment, permission_classes=SIGNED_IN, metadata=NOT_SENSITIVE)
