from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_known_devices')]

    initial = False

    operations = [
        ops.AddField(
            model_name='UserRow',
            name='locale',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
