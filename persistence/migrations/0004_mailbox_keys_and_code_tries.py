from tortoise import migrations
from tortoise.migrations import operations as ops

# email_key was the casefolded address, which merged different mailboxes (straße and
# strasse). It becomes the address with ASCII letters lower-cased (domain.entities.email_key,
# copied here as it is today: a migration must not change when the code does). Every new
# key is as unique as the old ones: two new keys are equal only if the old ones were.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


async def rekey_addresses(apps, schema_editor):
    client = schema_editor.client
    placeholders = ("$1", "$2") if client.capabilities.dialect == "postgres" else ("?", "?")
    _, rows = await client.execute_query('SELECT "id", "email" FROM "users"')
    update = 'UPDATE "users" SET "email_key" = {} WHERE "id" = {}'.format(*placeholders)
    for row in rows:
        await client.execute_query(update, [row["email"].translate(_ASCII_LOWER), row["id"]])


async def keep_one_code_per_purpose(apps, schema_editor):
    # SQLite drops a column by copying the table, and the copy lost the unique key on
    # (user_id, purpose) that OtpRepository.replace's ON CONFLICT relies on.
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        await client.execute_script(
            'CREATE UNIQUE INDEX IF NOT EXISTS "uid_otp_challen_user_id_purpose" '
            'ON "otp_challenges" ("user_id", "purpose")'
        )


class Migration(migrations.Migration):
    dependencies = [('models', '0003_session_clients_and_email_change')]

    initial = False

    operations = [
        ops.RunPython(rekey_addresses, ops.RunPython.noop),
        # wrong tries are counted per address in the throttles table (domain.services.code_tries)
        ops.RemoveField(model_name='OtpChallengeRow', name='attempts'),
        ops.RunPython(keep_one_code_per_purpose, ops.RunPython.noop),
    ]
