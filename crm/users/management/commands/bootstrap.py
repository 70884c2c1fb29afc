"""First start of a new installation: an administrator and demo data, once."""

import secrets

from django.conf import settings
from django.core.management import BaseCommand, call_command
from django.db import transaction

from crm.users.models import Role, User
from crm.users.services import user_create


class Command(BaseCommand):
    help = "On an empty database, create an administrator and load demo data; else do nothing."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default="", help="Random when not given.")
        parser.add_argument("--no-demo", action="store_true", help="Do not load demo data.")
        parser.add_argument("--demo-accounts", type=int, default=200)

    def handle(self, *args, username, password, no_demo, demo_accounts, **options):
        if User.objects.exists():
            self.stdout.write("Users exist already: nothing to bootstrap.")
            return
        password = password or secrets.token_urlsafe(12)
        with transaction.atomic():
            user_create(
                actor=None,
                fields={
                    "username": username,
                    "first_name": "Administrador",
                    "email": "",
                    "role": Role.ADMIN,
                },
                password=password,
            )
            User.objects.filter(username=username).update(is_staff=True, is_superuser=True)
        line = "=" * 60
        # Printed before the demo data, so an interrupted seed never hides the password.
        self.stdout.write(
            self.style.SUCCESS(
                f"\n{line}\n  Administrator created. Log in at the address below with\n"
                f"    user:     {username}\n    password: {password}\n{line}\n"
            )
        )
        if not no_demo:
            call_command("seed_demo", accounts=demo_accounts, stdout=self.stdout)
            # Later apps' demo data (named in settings: this app does not know them).
            for command in settings.DEMO_DATA_COMMANDS:
                call_command(command, stdout=self.stdout)
