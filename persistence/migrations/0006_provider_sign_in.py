# Sign-in with OpenID Connect providers: the identities linked to accounts, the sign-ins under
# way (hashed state, browser binding and nonce; the PKCE verifier) and their one-time codes.
# An account a provider made has no password: users.password_hash is "" (not NULL, which would
# rebuild the users table on SQLite and cascade its DROP to every row that refers to it).
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_second_factors')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ProviderIdentityRow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.UserRow', source_field='user_id', db_constraint=True, to_field='id', related_name='provider_identities', on_delete=OnDelete.CASCADE)),
                ('provider', fields.CharField(max_length=32)),
                ('subject', fields.CharField(max_length=255)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'provider_identities', 'app': 'models', 'unique_together': (('provider', 'subject'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProviderSignInCodeRow',
            fields=[
                ('code_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('provider', fields.CharField(max_length=32)),
                ('subject', fields.CharField(max_length=255)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('email_verified', fields.BooleanField(default=False)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'provider_sign_in_codes', 'app': 'models', 'pk_attr': 'code_hash'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProviderSignInStateRow',
            fields=[
                ('state_hash', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('provider', fields.CharField(max_length=32)),
                ('browser_hash', fields.CharField(max_length=64)),
                ('nonce_hash', fields.CharField(max_length=64)),
                ('code_verifier', fields.CharField(max_length=128)),
                ('return_url', fields.CharField(max_length=2048)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'provider_sign_in_states', 'app': 'models', 'pk_attr': 'state_hash'},
            bases=['Model'],
        ),
    ]
