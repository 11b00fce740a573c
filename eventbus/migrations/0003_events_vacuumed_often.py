"""The outbox is a queue: every event is claimed and completed within seconds of its commit, and the
partial index of pending events fills with dead entries until the table is vacuumed, which each
claim of fresh events then reads through. Autovacuum comes after 1 % of the table is dead instead of
PostgreSQL's default 20 %."""

from django.db import migrations

SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, "
    "autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_insert_scale_factor = 0.05"
)


class Migration(migrations.Migration):
    dependencies = [("eventbus", "0002_tenant_project_index_dropped")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE eventbus_domainevent SET ({SETTINGS})",
            "ALTER TABLE eventbus_domainevent RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
            "autovacuum_analyze_scale_factor, autovacuum_vacuum_insert_scale_factor)",
        ),
    ]
