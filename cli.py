"""The commands of ``python server.py``: serve, check, migrate, purge, unlock-account,
reset-second-factors, outbox (list-dead, retry), generate-key.

Each has ``--help``; wrong or extra arguments answer a usage line and exit 2. An
expected failure (bad settings, an address that is not one, an unknown account, a
database that does not answer) is one line on stderr and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, cast

from tortoise.context import TortoiseContext
from tortoise.exceptions import BaseORMException

from domain.clock import SystemClock
from domain.errors import InvalidInput
from domain.validation import InputCollector, normalise_email
from key_files import configured_signing_keys
from persistence.config import tortoise_config
from persistence.migrate import apply_migrations, prepare_database
from persistence.unit_of_work import TortoiseReadOnlyUnitOfWork, TortoiseUnitOfWork
from security.signing_keys import generate_signing_key
from settings import load_settings
from wiring import build_retention_job, build_services, identity_providers

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine
    from typing import Any

    from domain.services import Services
    from domain.services.retention import RetentionReport
    from security.signing_keys import AsymmetricAlgorithm
    from settings import Settings

PROGRAM = "python server.py"


def configuration() -> Settings:
    """The settings, with the keys they name read and checked (an Apple provider's too) and the
    trusted documents validated; or stop with the reason (exit 2)."""
    settings = load_settings()
    try:
        configured_signing_keys(settings)
        identity_providers(settings)
        if settings.trusted_documents is not None:
            # Checking them takes the schema, and with it the web stack the commands otherwise do without.
            from web.app import trusted_documents

            trusted_documents(settings)
    except ValueError as exc:
        sys.stderr.write(f"Invalid configuration:\n  {exc}\n")
        raise SystemExit(2) from None
    return settings


def parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The program's parser and each command's."""
    top = argparse.ArgumentParser(
        prog=PROGRAM,
        description="The authentication gateway. Settings come from the environment and .env (docs/configuration.md).",
    )
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="serve the gateway on HOST:PORT (the default command)")
    check = commands.add_parser("check", help="check the settings and the keys they name, then exit")
    migrate = commands.add_parser("migrate", help="apply pending database migrations to DATABASE_URL, then exit")
    purge = commands.add_parser(
        "purge",
        help="delete what is past its time (ended sessions, spent codes, old counters, stale sign-ups, "
        "old audit events, sent and dead outbox items, devices long unseen), print how many rows of each table, "
        "then exit",
    )
    unlock = commands.add_parser("unlock-account", help="end the sign-in lockout of the account with this address")
    unlock.add_argument("email", help="the account's e-mail address (any case)")
    reset = commands.add_parser(
        "reset-second-factors",
        help="remove the authenticator app, recovery codes and passkeys of the account with this address "
        "(after checking who asks, outside the gateway)",
    )
    reset.add_argument("email", help="the account's e-mail address (any case)")
    outbox = commands.add_parser("outbox", help="the mail outbox: list the mails given up on, queue them again")
    actions = outbox.add_subparsers(dest="outbox_action", metavar="ACTION", required=True)
    actions.add_parser("list-dead", help="list dead mails: id, kind, attempts, when queued and given up, last error")
    retry = actions.add_parser("retry", help="queue a dead mail again (or every one with --all), attempts from zero")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="the id list-dead shows")
    which.add_argument("--all", action="store_true", help="every dead mail")
    key = commands.add_parser("generate-key", help="make a private key for JWT_SIGNING_KEY(_FILE)")
    key.add_argument("--alg", choices=["EdDSA", "ES256", "RS256"], default="EdDSA", help="default: EdDSA")
    key.add_argument("--format", choices=["jwk", "pem"], default="jwk", help="a JWK with its kid, or PKCS#8 PEM")
    key.add_argument("--out", type=Path, help="write to this file (created with mode 0600) instead of printing")
    by_name = {
        "serve": serve,
        "check": check,
        "migrate": migrate,
        "purge": purge,
        "unlock-account": unlock,
        "reset-second-factors": reset,
        "outbox": outbox,
        "generate-key": key,
    }
    return top, by_name


def main(argv: list[str], serve: Callable[[Settings], None]) -> None:
    """Run the command ``argv`` names (``argv[0]`` is the program); ``serve`` serves the app."""
    top, commands = parser()
    options, extra = top.parse_known_args(argv[1:])
    command = options.command or "serve"
    if extra:  # argparse would blame the program; the usage that helps is the command's
        commands[command].error(f"unrecognized arguments: {' '.join(extra)}")
    if command == "generate-key":  # before the settings: it makes a key they will name
        generate_key(options.alg, options.format, options.out)
        return
    settings = configuration()
    if command == "check":
        print(f"configuration OK ({settings.app_env}, {settings.database_url.split(':', 1)[0]})")
    elif command == "migrate":
        _with_database(settings, apply_migrations(settings.database_url))
        print("migrations applied")
    elif command == "purge":
        purge_past_their_time(settings)
    elif command == "unlock-account":
        unlock_account(settings, options.email)
    elif command == "reset-second-factors":
        reset_second_factors(settings, options.email)
    elif command == "outbox":
        if options.outbox_action == "list-dead":
            list_dead_mail(settings)
        else:
            retry_dead_mail(settings, None if options.all else options.id)
    else:
        # A database that cannot be reached is one line here, not uvicorn's startup traceback.
        _with_database(settings, prepare_database(settings.database_url, migrate=settings.migrate_on_start))
        # Migrated just now: the app's start-up need not look again.
        serve(settings.model_copy(update={"migrate_on_start": False}))


def _with_database(settings: Settings, work: Coroutine[Any, Any, Any]) -> Any:
    """Run ``work``; a database that cannot be reached is one line and exit 1."""
    try:
        return asyncio.run(work)
    except (OSError, BaseORMException) as exc:
        scheme = settings.database_url.split(":", 1)[0]
        sys.stderr.write(f"cannot use the {scheme} database of DATABASE_URL: {exc}\n")
        raise SystemExit(1) from None


def purge_past_their_time(settings: Settings) -> None:
    """One run of the retention job (docs/operations.md, "Retention"); prints the rows deleted per table."""

    async def run() -> RetentionReport | None:
        job = build_retention_job(settings)
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(settings.database_url))
            return await job.run()

    report: RetentionReport | None = _with_database(settings, run())
    if report is None:
        print("skipped: another gateway process is purging this database right now")
        return
    width = max(len(table) for table in report.deleted)
    for table, count in report.deleted.items():
        print(f"{table:<{width}}  {count:>8} deleted")


def _address(email: str) -> str:
    """``email`` normalised; exits 2 for an address that is not one."""
    errors = InputCollector()
    address = normalise_email(email, errors)
    try:
        errors.raise_if_any()
    except InvalidInput as exc:
        reasons = "; ".join(error.message for error in exc.errors)
        sys.stderr.write(f"{email!r} is not an e-mail address: {reasons}\n")
        raise SystemExit(2) from None
    return address


def _on_account(
    settings: Settings, address: str, change: Callable[[Services], Awaitable[str | None]], nothing: str
) -> str:
    """Run ``change`` (which answers the account's address, or ``None`` without an account)
    with the services on the database; exits 1 when no account has ``address``.

    (An operator's command: telling whether an account exists is its job.)
    """

    async def run() -> str | None:
        services = build_services(settings)
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(settings.database_url))
            done = await change(services)
            await services.mail_dispatcher.settle()  # the notice, unless the mail server is away (then a gateway will)
            return done

    done: str | None = _with_database(settings, run())
    if done is None:
        sys.stderr.write(f"no account has the address {address}: {nothing}\n")
        raise SystemExit(1)
    return done


def unlock_account(settings: Settings, email: str) -> None:
    """End the failed-sign-in streak of the account with ``email``."""
    address = _address(email)

    async def unlock(services: Services) -> str | None:
        async with TortoiseReadOnlyUnitOfWork() as uow:
            user = await uow.users.get_by_email(address)
        if user is None:
            return None
        await services.throttle.unlock(address)
        return user.email

    print(f"sign-in lockout cleared for {_on_account(settings, address, unlock, 'nothing was unlocked')}")


def reset_second_factors(settings: Settings, email: str) -> None:
    """Remove the second factors of the account with ``email`` (audited; the owner is mailed)."""
    address = _address(email)

    async def reset(services: Services) -> str | None:
        return await services.second_factors.reset_by_operator(address)

    done = _on_account(settings, address, reset, "nothing was removed")
    print(f"second factors removed for {done}; the owner was mailed")


def _on_database(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(settings.database_url))
            return await work()

    return _with_database(settings, run())


def list_dead_mail(settings: Settings) -> None:
    """Print the dead mails of the outbox, oldest first: never an address or a code (they are sealed)."""

    async def dead() -> list[Any]:
        async with TortoiseReadOnlyUnitOfWork() as uow:
            return await uow.outbox.list_dead()

    items = _on_database(settings, dead)
    if not items:
        print("no dead mail")
        return
    for item in items:
        queued, died = item.created_at.isoformat(timespec="seconds"), item.dead_at.isoformat(timespec="seconds")
        kind = item.kind.value if item.endpoint is None else f"{item.kind.value} to {item.endpoint}"  # a webhook
        print(f"{item.id}  {kind}  attempts={item.attempts}  queued={queued}  dead={died}  {item.last_error}")


def retry_dead_mail(settings: Settings, item_id: str | None) -> None:
    """Queue one dead mail again (``item_id``), or every one (``None``); a running gateway sends it."""
    wanted: uuid.UUID | None = None
    if item_id is not None:
        try:
            wanted = uuid.UUID(item_id)
        except ValueError:
            sys.stderr.write(f"{item_id!r} is not an outbox id (list-dead shows them)\n")
            raise SystemExit(2) from None

    async def revive() -> int:
        async with TortoiseUnitOfWork() as uow:
            count = await uow.outbox.revive(wanted, SystemClock().now())
            await uow.commit()
        return count

    count: int = _on_database(settings, revive)
    if wanted is not None and count == 0:
        sys.stderr.write(f"no dead mail has the id {wanted}\n")
        raise SystemExit(1)
    print(f"queued {count} dead mail{'' if count == 1 else 's'} again")


def generate_key(algorithm: str, key_format: str, out: Path | None) -> None:
    """A new private key for JWT_SIGNING_KEY(_FILE), printed or written to a new file (never over one)."""
    key = generate_signing_key(cast("AsymmetricAlgorithm", algorithm))  # argparse offered only these
    text = json.dumps(key.private_jwk()) + "\n" if key_format == "jwk" else key.private_pem()
    if out is None:
        sys.stdout.write(text)
        return
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        sys.stderr.write(f"cannot create {out}: {exc.strerror} (an existing key is never overwritten)\n")
        raise SystemExit(2) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    print(f"wrote a private {algorithm} key, kid {key.kid}, to {out}")
