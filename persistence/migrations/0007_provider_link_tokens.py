# Linking a provider identity to an existing account: the link tokens of LinkRequired (hashed,
# single use, short-lived, for the account that has the identity's address).
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_provider_sign_in')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProviderLinkTokenRow',
            fields=[
                ('token_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('provider', fields.CharField(max_length=32)),
                ('subject', fields.CharField(max_length=255)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('user', fields.ForeignKeyField('models.UserRow', source_field='user_id', db_constraint=True, to_field='id', related_name='provider_link_tokens', on_delete=OnDelete.CASCADE)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'provider_link_tokens', 'app': 'models', 'pk_attr': 'token_hash'},
            bases=['Model'],
        ),
    ]
