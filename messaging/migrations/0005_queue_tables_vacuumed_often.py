"""Messages are a queue as well as a record: a large send rewrites each row a few times within
minutes (queued, sending, sent), and the partial indexes that find waiting messages fill with dead
entries until the table is vacuumed. PostgreSQL's default waits for a fifth of the table to be dead
(400,000 rows at 2,000,000); these settings have autovacuum come after 2 % (and analyze after 5 %,
with inserts counted), so a million-customer send is not scanning its own leftovers."""

from django.db import migrations

SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, "
    "autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_insert_scale_factor = 0.05"
)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_tallies")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE messaging_message SET ({SETTINGS})",
            "ALTER TABLE messaging_message RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
            "autovacuum_analyze_scale_factor, autovacuum_vacuum_insert_scale_factor)",
        ),
    ]
