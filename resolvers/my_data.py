from __future__ import annotations

import json

import strawberry
from strawberry.types import Info  # noqa: TC002 - Strawberry reads annotations at runtime

from resolvers.context import Context  # noqa: TC001
from resolvers.permissions import SIGNED_IN_AS_REQUIRED


async def my_data(info: Info[Context, None]) -> str:
    """Everything the gateway holds about the signed-in person, as one JSON document (docs/api.md,
    "Your data"): profile, live sessions, second factors and passkeys (kinds, names and dates,
    never a secret), linked provider identities, and the account's audit events of the last 90
    days. Never a password hash, secret, token or code."""
    principal = await info.context.signed_in()
    export = await info.context.services.data_export.export(principal)
    return json.dumps(export, ensure_ascii=False, indent=2)


field = strawberry.field(resolver=my_data, permission_classes=SIGNED_IN_AS_REQUIRED)
