# The outbox moves from users to notifications without copying a row: this
# takes the model into notifications' state over users' table as it is
# (users.0006 drops it from users' state); 0002 renames the table and moves
# its content type, so staff keep their grants.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('users', '0005_outbox_lease_and_failure'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
        migrations.CreateModel(
            name='OutboxEmail',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=32)),
                ('to', models.EmailField(max_length=254)),
                ('subject', models.CharField(max_length=255)),
                ('body_text', models.TextField(blank=True, default='')),
                ('body_html', models.TextField(blank=True, default='')),
                ('template', models.CharField(blank=True, default='', max_length=100)),
                ('context', models.JSONField(blank=True, null=True)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed')], default='pending', max_length=8)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('last_error', models.TextField(blank=True, default='')),
                ('failure', models.CharField(blank=True, choices=[('', '—'), ('unreachable', 'Mail server unreachable'), ('deferred', 'Deferred by the mail server'), ('refused', 'Recipient refused')], default='', max_length=16)),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('leased_until', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name': 'outbox email',
                'ordering': ('-created_at', '-id'),
                'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='outbox_due_idx'), models.Index(condition=models.Q(('attempts', 0), ('status', 'pending')), fields=['id'], name='outbox_fresh_idx'), models.Index(condition=models.Q(('status', 'sent')), fields=['sent_at'], name='outbox_sent_idx')],
                'db_table': 'users_outboxemail',
            },
        ),
            ],
        ),
    ]
