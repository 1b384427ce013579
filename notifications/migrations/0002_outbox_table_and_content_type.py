# The outbox's table takes notifications' name (a rename: no row is
# copied), and its content type moves from users to notifications, so the
# permissions on it (view, change…), and the staff and groups granted them,
# stay as they were.

from django.db import migrations


def _move(apps, schema_editor, *, source, target):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    old = ContentType.objects.using(db).filter(app_label=source, model='outboxemail').first()
    if old is None:  # a new database: post_migrate makes the content type afterwards
        return
    # One made for the target by an earlier, interrupted run holds no grants worth keeping.
    ContentType.objects.using(db).filter(app_label=target, model='outboxemail').delete()
    old.app_label = target
    old.save(update_fields=['app_label'])


def forwards(apps, schema_editor):
    _move(apps, schema_editor, source='users', target='notifications')


def backwards(apps, schema_editor):
    _move(apps, schema_editor, source='notifications', target='users')


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0001_initial'),
        ('users', '0006_outbox_to_notifications'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelTable(name='outboxemail', table=None),
        migrations.RunPython(forwards, backwards),
    ]
