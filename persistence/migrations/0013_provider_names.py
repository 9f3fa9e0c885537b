from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_user_locale')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ProviderSignInCodeRow',
            name='family_name',
            field=fields.CharField(null=True, max_length=128),
        ),
        ops.AddField(
            model_name='ProviderSignInCodeRow',
            name='given_name',
            field=fields.CharField(null=True, max_length=128),
        ),
    ]
