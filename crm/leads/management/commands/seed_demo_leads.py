"""Demo leads, assignment rules and a web form, for a new installation to show its lead work.

    manage.py seed_demo_leads [--leads 150] [--seed 2]

Runs after seed_demo (it needs its users). The leads are made like the demo accounts (the
same Spanish names, places, NIFs and phones), in every status, with notes; two rules share new
leads between the demo teams by province, and a web form is ready to embed.
"""

import random
from datetime import timedelta

from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from crm.core.models import Channel, Sector
from crm.customers.management.commands.seed_demo import (
    DemoData,
    explicit_timestamps,
)
from crm.leads.models import (
    AssignmentRule,
    AssignmentTarget,
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadSettings,
    LeadStatus,
    WebForm,
)
from crm.users.models import Role, Team, User

STATUSES = [
    (LeadStatus.NEW, 40),
    (LeadStatus.CONTACTED, 25),
    (LeadStatus.QUALIFIED, 15),
    (LeadStatus.DISQUALIFIED, 20),
]
CAMPAIGNS = ["Feria Alimentaria 2026", "Newsletter otoño", "Google Ads", "Web 2026", ""]
PRODUCTS = [
    "Mantenimiento anual",
    "Instalación",
    "Consultoría",
    "Licencias de software",
    "Formación",
    "",
]
# Provinces of the north (the demo team Norte); the rest go to team Sur.
NORTH = ["01", "15", "20", "24", "26", "27", "31", "32", "33", "34", "36", "39", "48", "09"]


class Command(BaseCommand):
    help = "Load demo leads, two assignment rules and a web form (after seed_demo)."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=150)
        parser.add_argument("--seed", type=int, default=2)

    @transaction.atomic
    def handle(self, *args, leads: int, seed: int, **options):
        sellers = list(
            User.objects.filter(is_active=True, role__in=[Role.SALES, Role.MANAGER]).order_by("pk")
        )
        if not sellers:
            raise CommandError("There are no active sales users: run seed_demo first.")
        rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        now = timezone.now()
        data = DemoData(
            seed=seed,
            total=max(leads, 1),
            now=now,
            sellers=sellers,
            sectors=list(Sector.objects.filter(is_active=True).order_by("pk")),
            channels=list(Channel.objects.filter(is_active=True).order_by("pk")),
            tags=[],
        )
        self._rules()
        reasons = list(DisqualifyReason.objects.filter(is_active=True))
        rows = []
        for index in range(leads):
            pending = data.account(index)
            account, contact = pending.account, pending.contacts[0]
            created = now - timedelta(days=rng.uniform(0, 120), seconds=rng.randrange(86400))
            status = rng.choices(*zip(*STATUSES, strict=True))[0]
            lead = Lead(
                first_name=contact.first_name,
                last_name=contact.last_name,
                company=account.name if account.kind == "company" else "",
                position=contact.position,
                email=contact.email,
                phone=account.phone if rng.random() < 0.5 else "",
                mobile=contact.mobile or contact.phone,
                nif=account.nif if rng.random() < 0.4 else "",
                province=account.billing_province,
                city=account.billing_city,
                sector=account.sector,
                size_segment=account.size_segment,
                channel=account.channel,
                campaign=rng.choice(CAMPAIGNS),
                products_of_interest=rng.choice(PRODUCTS),
                status=status,
                disqualify_reason=rng.choice(reasons)
                if status == LeadStatus.DISQUALIFIED and reasons
                else None,
                score=rng.choice([0, 10, 20, 35, 50, 60, 75, 90]),
                owner=account.owner,
                team_id=account.owner.team_id,
                created_by=account.owner,
                updated_by=account.owner,
                created_at=created,
                updated_at=created,
            )
            if lead.status == LeadStatus.DISQUALIFIED and lead.disqualify_reason is None:
                lead.status = LeadStatus.NEW
            lead.refresh_search_text()
            rows.append(lead)
        with explicit_timestamps(Lead, LeadEvent):
            created_leads = Lead.objects.bulk_create(rows, batch_size=500)
            events = [
                LeadEvent(
                    lead=lead,
                    kind=LeadEventKind.NOTE,
                    actor=lead.owner,
                    created_at=lead.created_at + timedelta(hours=rng.randint(2, 72)),
                    body=rng.choice(
                        [
                            "Llamado, pide que le enviemos información por correo.",
                            "Interesado; volver a llamar la semana que viene.",
                            "Conocido en la feria, quiere una demostración.",
                        ]
                    ),
                )
                for lead in created_leads
                if lead.status != LeadStatus.NEW and rng.random() < 0.6
            ]
            LeadEvent.objects.bulk_create(events)
        self.stdout.write(
            self.style.SUCCESS(f"Created {len(rows)} demo leads with {len(events)} notes.")
        )

    def _rules(self) -> None:
        """Rules by province for the demo teams, a fallback owner and a web form, once."""
        if not AssignmentRule.objects.exists():
            north = Team.objects.filter(name="Norte").first()
            south = Team.objects.filter(name="Sur").first()
            if north:
                AssignmentRule.objects.create(
                    name="Norte: por turnos",
                    position=1,
                    provinces=NORTH,
                    target=AssignmentTarget.ROUND_ROBIN,
                    target_team=north,
                )
            if south:
                AssignmentRule.objects.create(
                    name="Resto de España: al que menos tenga",
                    position=2,
                    target=AssignmentTarget.LEAST_LOADED,
                    target_team=south,
                )
        settings, _created = LeadSettings.objects.get_or_create(pk=LeadSettings.SINGLETON_ID)
        if settings.fallback_owner is None:
            settings.fallback_owner = (
                User.objects.filter(is_active=True, role=Role.MANAGER).order_by("pk").first()
            )
            settings.save()
        if not WebForm.objects.exists():
            WebForm.objects.create(
                name="Contacto web",
                title="¿Hablamos?",
                fields=["company", "phone", "province", "message"],
                channel=Channel.objects.filter(name="Web").first(),
                campaign="Web 2026",
                thank_you_message="Gracias. Le llamaremos en menos de un día laborable.",
            )
