from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0014_retention_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProviderEmailConfirmationRow',
            fields=[
                ('ticket_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('provider', fields.CharField(max_length=32)),
                ('subject', fields.CharField(max_length=255)),
                ('email', fields.CharField(max_length=254)),
                ('code_hmac', fields.CharField(max_length=64)),
                ('failed_tries', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('given_name', fields.CharField(null=True, max_length=128)),
                ('family_name', fields.CharField(null=True, max_length=128)),
            ],
            options={'table': 'provider_email_confirmations', 'app': 'models', 'pk_attr': 'ticket_hash'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpentIdTokenRow',
            fields=[
                ('token_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'spent_id_tokens', 'app': 'models', 'pk_attr': 'token_hash'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OtpChallengeRow',
            name='link_hash',
            field=fields.CharField(null=True, unique=True, max_length=64),
        ),
    ]
