from django.db import migrations

from crm.core.search import search_index_sql

TABLES = ["customers_account", "customers_contact"]


def create(apps, schema_editor):
    for table in TABLES:
        for sql in search_index_sql(table, schema_editor.connection.vendor)[0]:
            schema_editor.execute(sql)


def drop(apps, schema_editor):
    for table in TABLES:
        for sql in search_index_sql(table, schema_editor.connection.vendor)[1]:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    """Index the folded search text: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL."""

    dependencies = [("customers", "0004_contact_deleted_event")]
    operations = [migrations.RunPython(create, drop)]
