from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# The counters' expiry loses its index (persistence/models.py, ThrottleRow): with it, every
# hit was a non-HOT update. The purge of expired counters scans the table instead.


class Migration(migrations.Migration):
    dependencies = [('models', '0015_id_tokens_and_sign_in_links')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='ThrottleRow',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
