# The mail outbox: each mail written, sealed, in the transaction of the change that causes it,
# and delivered afterwards by the dispatcher (claims, retries with backoff, dead items).
from tortoise import migrations
from tortoise.migrations import operations as ops
from uuid import uuid4
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_provider_link_tokens')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxRow',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('sealed_mail', fields.BinaryField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('claimant', fields.CharField(null=True, max_length=32)),
                ('last_error', fields.CharField(null=True, max_length=128)),
                ('dead_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]

