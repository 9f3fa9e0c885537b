from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_throttles_and_audit_events')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OtpChallengeRow',
            name='new_email',
            field=fields.CharField(null=True, max_length=254),
        ),
        ops.AddField(
            model_name='SessionRow',
            name='client_ip',
            field=fields.CharField(null=True, max_length=45),
        ),
        ops.AddField(
            model_name='SessionRow',
            name='user_agent',
            field=fields.CharField(null=True, max_length=512),
        ),
    ]
