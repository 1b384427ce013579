# The outbox moved to the notifications app (notifications.0001 takes the
# model over this table; notifications.0002 renames the table and moves its
# content type). Here it only leaves users' state: no row is touched.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('users', '0005_outbox_lease_and_failure'),
        ('notifications', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(
                    name='OutboxEmail',
                ),
            ],
        ),
    ]
