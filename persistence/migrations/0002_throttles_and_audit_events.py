from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEventRow',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('occurred_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('event', fields.CharField(max_length=32)),
                ('user', fields.ForeignKeyField('models.UserRow', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='audit_events', on_delete=OnDelete.SET_NULL)),
                ('client_ip', fields.CharField(null=True, max_length=45)),
                ('user_agent', fields.CharField(null=True, max_length=512)),
                ('detail', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'audit_events', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ThrottleRow',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('count', fields.IntField(default=0)),
                ('marked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'throttles', 'app': 'models', 'pk_attr': 'key'},
            bases=['Model'],
        ),
    ]
