from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# The indexes the outbox's claim and the retention job's DELETEs need to be index scans on
# PostgreSQL (docs/operations.md, "Retention"). Raw SQL, the same on SQLite and PostgreSQL:
# Tortoise's partial indexes take equalities only, and db_index on an existing column would
# alter the field, which on SQLite rebuilds the table (and the rebuild's DROP of sessions
# would cascade to every refresh token).
INDEXES = {
    # the dispatcher's claim and the backlog gauges: live items, by when they are due
    "outbox_due_idx": "outbox (next_attempt_at) WHERE dead_at IS NULL AND sent_at IS NULL",
    "outbox_sent_idx": "outbox (sent_at) WHERE sent_at IS NOT NULL",
    "outbox_dead_idx": "outbox (dead_at) WHERE dead_at IS NOT NULL",
    "known_devices_last_seen_idx": "known_devices (last_seen_at)",
    "users_unconfirmed_created_idx": "users (created_at) WHERE NOT email_verified",
    "sessions_revoked_idx": "sessions (revoked_at) WHERE revoked_at IS NOT NULL",
    "sessions_expires_idx": "sessions (expires_at)",
    # No index on sessions.last_used_at: every refresh moves it, and an index on it would make
    # each rotation's UPDATE a non-HOT one (a new index entry for every index of the table).
    # Idle sessions are found by a scan of the hourly purge instead.
    "otp_challenges_expires_idx": "otp_challenges (expires_at)",
    # foreign keys the purge of unconfirmed sign-ups deletes by (and PostgreSQL's cascades follow)
    "sessions_user_idx": "sessions (user_id)",
    "refresh_tokens_session_idx": "refresh_tokens (session_id)",
    "audit_events_user_idx": "audit_events (user_id)",
    "sign_in_tickets_user_idx": "sign_in_tickets (user_id)",
    "passkey_challenges_user_idx": "passkey_challenges (user_id)",
    "passkeys_user_idx": "passkeys (user_id)",
    "provider_identities_user_idx": "provider_identities (user_id)",
    "provider_link_tokens_user_idx": "provider_link_tokens (user_id)",
}


class Migration(migrations.Migration):
    dependencies = [('models', '0013_provider_names')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxRow',
            name='sent_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL(
            [f"CREATE INDEX IF NOT EXISTS {name} ON {definition}" for name, definition in INDEXES.items()],
            reverse_sql=[f"DROP INDEX IF EXISTS {name}" for name in INDEXES],
        ),
    ]
