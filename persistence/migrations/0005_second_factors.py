# Second factors: the authenticator app (sealed secret), recovery codes (keyed hashes), the
# tickets of sign-ins waiting for their second step, and how and when each session last
# proved its owner (amr, authenticated_at); passkeys and their pending challenges.
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_mailbox_keys_and_code_tries')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RecoveryCodeRow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.UserRow', source_field='user_id', db_constraint=True, to_field='id', related_name='recovery_codes', on_delete=OnDelete.CASCADE)),
                ('code_hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'recovery_codes', 'app': 'models', 'unique_together': (('user', 'code_hash'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignInTicketRow',
            fields=[
                ('ticket_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('user', fields.ForeignKeyField('models.UserRow', source_field='user_id', db_constraint=True, to_field='id', related_name='sign_in_tickets', on_delete=OnDelete.CASCADE)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('tries', fields.IntField(default=0)),
            ],
            options={'table': 'sign_in_tickets', 'app': 'models', 'pk_attr': 'ticket_hash'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TotpFactorRow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.OneToOneField('models.UserRow', source_field='user_id', db_constraint=True, to_field='id', related_name='totp_factor', on_delete=OnDelete.CASCADE)),
                ('sealed_secret', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_step', fields.BigIntField(null=True)),
            ],
            options={'table': 'totp_factors', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='SessionRow',
            name='amr',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='SessionRow',
            name='authenticated_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.CreateModel(
            name='PasskeyChallengeRow',
            fields=[
                ('challenge_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('purpose', fields.CharField(max_length=16)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('user', fields.ForeignKeyField('models.UserRow', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='passkey_challenges', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'passkey_challenges', 'app': 'models', 'pk_attr': 'challenge_hash'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PasskeyRow',
            fields=[
                ('credential_id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=1400)),
                ('user', fields.ForeignKeyField('models.UserRow', source_field='user_id', db_constraint=True, to_field='id', related_name='passkeys', on_delete=OnDelete.CASCADE)),
                ('public_key', fields.BinaryField()),
                ('sign_count', fields.BigIntField(default=0)),
                ('name', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('backed_up', fields.BooleanField(default=False)),
                ('synced', fields.BooleanField(default=False)),
            ],
            options={'table': 'passkeys', 'app': 'models', 'pk_attr': 'credential_id'},
            bases=['Model'],
        ),
    ]
