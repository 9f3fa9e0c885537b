from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_sign_in_ticket_first_factor')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxRow',
            name='endpoint',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
