"""manage.py import_leads FILE: import leads from a CSV or XLSX file, without a worker."""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from crm.leads import imports
from crm.leads.models import ImportStatus, OnDuplicate
from crm.users.models import Role, User


class Command(BaseCommand):
    help = (
        "Import leads from a CSV or XLSX file. Without --mapping the columns are mapped by "
        "their names. Prints how many rows were created, updated, skipped and failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the CSV or XLSX file")
        parser.add_argument("--mapping", default="", help="name of a saved column mapping")
        parser.add_argument(
            "--on-duplicate",
            choices=OnDuplicate.values,
            default=OnDuplicate.SKIP,
            help="what to do with a row that matches an existing record (default: skip)",
        )
        parser.add_argument("--sheet", default="", help="sheet of an XLSX file (default: first)")
        parser.add_argument(
            "--user", default="", help="username of the importing user (default: first admin)"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        actor = self._actor(options["user"])
        try:
            with path.open("rb") as handle:
                lead_import = imports.lead_import_create(
                    actor=actor, uploaded_file=File(handle, name=path.name), sheet=options["sheet"]
                )
            mapping = imports.resolve_mapping(
                lead_import=lead_import, template_name=options["mapping"]
            )
            self.stdout.write(
                "Mapping: "
                + json.dumps(
                    {lead_import.headers[int(k)]: v for k, v in mapping.items()},
                    ensure_ascii=False,
                )
            )
            imports.lead_import_start(
                actor=actor,
                lead_import=lead_import,
                mapping=mapping,
                on_duplicate=options["on_duplicate"],
                enqueue=False,
            )
        except ValidationError as exc:
            raise CommandError(f"File refused: {' '.join(exc.messages)}") from exc
        lead_import = imports.lead_import_run(import_id=lead_import.pk)
        self.stdout.write(
            f"Import #{lead_import.pk}: {lead_import.total_rows} rows; "
            f"created {lead_import.created_count}, updated {lead_import.updated_count}, "
            f"skipped {lead_import.skipped_count}, failed {lead_import.failed_count}."
        )
        if lead_import.status != ImportStatus.DONE:
            raise CommandError(f"The import failed: {lead_import.error}")

    def _actor(self, username: str) -> User:
        users = User.objects.filter(is_active=True)
        if username:
            actor = users.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No active user {username!r}.")
            return actor
        actor = (
            users.filter(role=Role.ADMIN).order_by("pk").first()
            or users.filter(is_superuser=True).order_by("pk").first()
        )
        if actor is None:
            raise CommandError("There is no active administrator; name one with --user.")
        return actor
