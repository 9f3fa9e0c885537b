# A sign-in ticket says how its first step proved the person ("pwd", or "fed" for a provider),
# so that the session it opens records the two steps it took.
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_outbox')]

    initial = False

    operations = [
        ops.AddField(
            model_name='SignInTicketRow',
            name='first_factor',
            field=fields.CharField(default='pwd', max_length=8),
        ),
    ]
