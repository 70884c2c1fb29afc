"""Background jobs of leads, run by the Huey worker."""

from huey.contrib.djhuey import db_task

from crm.leads.imports import lead_import_run


@db_task()
def lead_import_task(import_id: int) -> None:
    """Run (or resume) a lead import; safe to run twice: a finished import is left alone and
    a batch already written is never written again."""
    lead_import_run(import_id=import_id)
