from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from domain.errors import EmailNotVerified, InvalidCredentials, InvalidInput
from security.passwords import BcryptPasswordHasher
from tests.unit.fakes import CountingPasswordHasher
from tests.unit.gateway import build_gateway, signed

if TYPE_CHECKING:
    from domain.policy import AuthPolicy
    from tests.unit.fakes import FakeDatabase, FakeMailer, FixedClock
    from tests.unit.gateway import PendingUser, VerifiedUser, WiredServices


@pytest.fixture
def gateway_at_cost_5(
    database: FakeDatabase, mailer: FakeMailer, clock: FixedClock, policy: AuthPolicy
) -> WiredServices:
    """The same accounts, served after the operator raised BCRYPT_COST from 4 to 5."""
    return build_gateway(database, mailer, clock, BcryptPasswordHasher(cost=5), policy)


def stored_hash(database: FakeDatabase, email: str) -> str:
    user = database.user_by_email(email)
    assert user is not None
    assert user.password_hash is not None
    return user.password_hash


class TestLogin:
    async def test_right_password_on_a_verified_account_signs_in(
        self, gateway: WiredServices, verified_user: VerifiedUser
    ) -> None:
        signed_in = signed(await gateway.login.login(verified_user.email, verified_user.password))

        assert signed_in.user.id == verified_user.signed_in.user.id
        assert signed_in.session_id != verified_user.signed_in.session_id  # a new device, a new session
        assert gateway.identity.read_access_token(signed_in.access_token).user_id == signed_in.user.id
        await gateway.refresh.refresh(signed_in.refresh_token)

    async def test_the_address_is_matched_whatever_its_case(
        self, gateway: WiredServices, verified_user: VerifiedUser
    ) -> None:
        signed_in = signed(await gateway.login.login(" ALICE@Example.Com ", verified_user.password))
        assert signed_in.user.email == verified_user.email

    async def test_the_password_is_compared_after_nfkc(self, gateway: WiredServices, mailer: FakeMailer) -> None:
        await gateway.registration.register("zoe@example.com", "ﬁnal café password")  # ligature, é composed
        await gateway.verification.verify(
            "zoe@example.com", mailer.last_code_sent_to("zoe@example.com"), "ﬁnal café password"
        )

        await gateway.login.login("zoe@example.com", "final cafe\u0301 password")  # letters, é decomposed

    async def test_wrong_password(self, gateway: WiredServices, verified_user: VerifiedUser) -> None:
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(verified_user.email, verified_user.password + "!")

    async def test_unknown_address_answers_the_same_after_one_bcrypt_check(
        self, gateway: WiredServices, verified_user: VerifiedUser, password_hasher: CountingPasswordHasher
    ) -> None:
        with pytest.raises(InvalidCredentials) as wrong_password:
            await gateway.login.login(verified_user.email, "not the password")
        checks_for_known = password_hasher.verifications + password_hasher.dummy_verifications

        with pytest.raises(InvalidCredentials) as unknown_address:
            await gateway.login.login("nobody@example.com", "not the password")
        checks_for_unknown = password_hasher.verifications + password_hasher.dummy_verifications - checks_for_known

        assert str(unknown_address.value) == str(wrong_password.value)
        assert password_hasher.dummy_verifications == 1
        assert checks_for_unknown == 1

    async def test_right_password_on_an_unverified_account_mails_a_fresh_code(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer
    ) -> None:
        with pytest.raises(EmailNotVerified) as raised:
            await gateway.login.login(pending_user.email, pending_user.password)

        assert raised.value.email == pending_user.email
        codes = mailer.codes_sent_to(pending_user.email)
        assert len(codes) == 2
        await gateway.verification.verify(pending_user.email, codes[-1], pending_user.password)

    async def test_wrong_password_on_an_unverified_account_mails_nothing(
        self, gateway: WiredServices, pending_user: PendingUser, mailer: FakeMailer
    ) -> None:
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(pending_user.email, "not the password")
        assert len(mailer.sent) == 1  # only the code of the registration

    @pytest.mark.parametrize(
        ("email", "password", "bad_fields"),
        [
            ("alice", "whatever password", ["email"]),
            ("alice@example.com", "", ["password"]),
            ("alice@example.com", "x" * 129, ["password"]),
            ("", "", ["email", "password"]),
        ],
    )
    async def test_bad_input_is_refused_without_a_bcrypt_check(
        self,
        gateway: WiredServices,
        password_hasher: CountingPasswordHasher,
        email: str,
        password: str,
        bad_fields: list[str],
    ) -> None:
        with pytest.raises(InvalidInput) as raised:
            await gateway.login.login(email, password)
        assert [error.field for error in raised.value.errors] == bad_fields
        assert password_hasher.verifications + password_hasher.dummy_verifications == 0

    async def test_a_short_password_is_checked_not_refused(
        self, gateway: WiredServices, verified_user: VerifiedUser
    ) -> None:
        # Length rules apply to new passwords; at login a short one is simply wrong.
        with pytest.raises(InvalidCredentials):
            await gateway.login.login(verified_user.email, "short")

    async def test_a_verified_account_gets_no_mail_on_sign_in(
        self, gateway: WiredServices, verified_user: VerifiedUser, mailer: FakeMailer
    ) -> None:
        await gateway.login.login(verified_user.email, verified_user.password)
        assert mailer.sent == []

    @pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"])
    async def test_a_password_with_a_lone_surrogate_is_bad_input(
        self, gateway: WiredServices, verified_user: VerifiedUser, email: str
    ) -> None:
        # JSON lets a client send "\\ud800", which UTF-8 cannot encode: an answer, not a crash.
        with pytest.raises(InvalidInput) as raised:
            await gateway.login.login(email, "pass\ud800word")
        assert [error.field for error in raised.value.errors] == ["password"]


class TestBcryptCostUpgrade:
    """Hashing itself is under test here: the accounts are made with real bcrypt at cost 4."""

    @pytest.fixture
    def password_hasher(self, bcrypt_cost_4: BcryptPasswordHasher) -> CountingPasswordHasher:
        return CountingPasswordHasher(bcrypt_cost_4)

    async def test_a_hash_of_lower_cost_is_upgraded_on_success(
        self,
        gateway_at_cost_5: WiredServices,
        verified_user: VerifiedUser,
        database: FakeDatabase,
    ) -> None:
        assert stored_hash(database, verified_user.email).startswith("$2b$04$")

        await gateway_at_cost_5.login.login(verified_user.email, verified_user.password)

        assert stored_hash(database, verified_user.email).startswith("$2b$05$")
        await gateway_at_cost_5.login.login(verified_user.email, verified_user.password)

    async def test_a_hash_of_lower_cost_is_kept_on_failure(
        self,
        gateway_at_cost_5: WiredServices,
        verified_user: VerifiedUser,
        database: FakeDatabase,
    ) -> None:
        before = stored_hash(database, verified_user.email)

        with pytest.raises(InvalidCredentials):
            await gateway_at_cost_5.login.login(verified_user.email, "not the password")

        assert stored_hash(database, verified_user.email) == before

    async def test_the_upgrade_never_overwrites_a_password_changed_meanwhile(
        self,
        verified_user: VerifiedUser,
        database: FakeDatabase,
        mailer: FakeMailer,
        clock: FixedClock,
        policy: AuthPolicy,
        bcrypt_cost_4: BcryptPasswordHasher,
    ) -> None:
        changed_meanwhile = await bcrypt_cost_4.hash("a password set by another request")

        class ChangedWhileRehashing(CountingPasswordHasher):
            async def hash(self, password: str) -> str:
                # Another request commits a new password while this login re-hashes the old one.
                user = database.user_by_email(verified_user.email)
                assert user is not None
                user.password_hash = changed_meanwhile
                return await super().hash(password)

        passwords = ChangedWhileRehashing(BcryptPasswordHasher(cost=5))
        gateway = build_gateway(database, mailer, clock, passwords, policy)

        await gateway.login.login(verified_user.email, verified_user.password)

        assert passwords.hashes == 1
        assert stored_hash(database, verified_user.email) == changed_meanwhile
