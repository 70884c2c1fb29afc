"""Two years of demo sales, so that a new installation's reports have something to show.

    manage.py seed_demo_sales [--deals 600] [--seed 3]

Runs after seed_demo (its accounts and sales team) and seed_demo_leads (some of its leads
become deals); does nothing when there are deals already. Over the last 24 months (a few more
in recent months, fewer in August and December) the owners of the demo accounts open deals
that move through the default pipeline's stages in order, days to weeks apart. Two in five
stall and stay open where they got to; the others are won (two in five) or lost, unless that
is still to come, so that about 55 % end closed. About two deals in five got a quote when
they reached the offer stage, numbered per year as sending numbers them, and the year's
sequence is moved past them. Done activities follow each deal's life and a few are pending,
some overdue. Then this fiscal year's targets per rep and per team, near what they achieve,
and the pipeline snapshots of every past day and of today, for the dashboard.

Like seed_demo it writes with bulk_create what the services would write (stage history with
`left_at`, timeline events, quote totals by `crm.sales.money`) with the dates history needs;
the same --seed gives the same records, dated relative to the moment it runs.
"""

import datetime as dt
import math
import random
import time
from bisect import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter

from django.core.management import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.activities.models import Activity, ActivityKind, ActivityStatus, Priority
from crm.customers.management.commands.seed_demo import Weighted, explicit_timestamps
from crm.customers.models import Account, AccountEvent, Contact, EventKind, Lifecycle
from crm.leads.models import OPEN_STATUSES, Lead, LeadEvent, LeadEventKind, LeadStatus
from crm.reports.models import PipelineSnapshot, Target, TargetMetric
from crm.reports.periods import add_months, months_between
from crm.reports.selectors import ReportSettings, report_settings
from crm.reports.services import snapshot_take
from crm.sales import money
from crm.sales.delivery import offered_stage
from crm.sales.models import (
    LostReason,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
    Pipeline,
    Product,
    ProductCategory,
    ProductKind,
    Quote,
    QuoteLine,
    QuoteSequence,
    QuoteStatus,
    Recurrence,
    Stage,
    StageChange,
    StageKind,
)
from crm.sales.services import default_pipeline, format_quote_number
from crm.users.models import Role

HISTORY_DAYS = 730  # deals were opened over the last two years
RECENT_BONUS = 0.6  # today's deals are 1.6 times as frequent as two years ago's
SEASON = {8: 0.5, 12: 0.8}  # Spain slows down in August and at Christmas
STALLED_SHARE = 0.4  # deals left open in the stage they reached (about 55 % end closed)
WIN_SHARE = 0.4  # of the closed deals
CANCELLED_SHARE = 0.25  # of the lost ones, cancelled by the customer rather than lost
QUOTE_SHARE_WON = 0.9  # of the won deals, those with a quote
QUOTE_SHARE_OTHER = 0.55  # of the other deals that reached the offer stage
ACTIVITIES_PER_DEAL = 2.5
PENDING_PER_DEAL = 0.1
OVERDUE_SHARE = 0.25  # of the pending activities
LATE_SHARE = 0.3  # of the done activities, done a few days after they were due
LEAD_CONVERSION = 0.15  # of the demo leads
TARGET_SPREAD = 0.2  # targets within ±20 % of what the subject achieved in a year
MIN_AMOUNT, MAX_AMOUNT = Decimal(800), Decimal(40000)
WORK_START, WORK_END = 8 * 60 + 30, 19 * 60  # minutes of the day, company time
# Days a deal stays in each open stage before moving on, by the stage's place in the pipeline.
STAGE_DAYS = [(2, 21), (5, 35), (3, 28)]
DOC_IP = "192.0.2.{}"  # TEST-NET-1 (RFC 5737): never a real customer's address

# The demo catalog, when there is none:
# code | name | category | kind | unit | unit price | recurrence | most units on one quote
CATALOG = """
TPV-15 | Terminal punto de venta táctil 15″ | Productos | product | ud. | 890.00 | one_off | 25
IMP-TK | Impresora de tickets térmica | Productos | product | ud. | 185.00 | one_off | 25
LEC-CB | Lector de códigos de barras inalámbrico | Productos | product | ud. | 120.00 | one_off | 30
SRV-1U | Servidor en rack 1U | Productos | product | ud. | 2450.00 | one_off | 4
PC-14 | Portátil profesional 14″ | Productos | product | ud. | 1090.00 | one_off | 30
INST | Instalación y puesta en marcha | Servicios | service | ud. | 480.00 | one_off | 10
CONS-H | Consultoría | Servicios | service | h | 65.00 | one_off | 200
FORM-J | Formación presencial | Servicios | service | jornada | 540.00 | one_off | 15
MIGR | Migración de datos | Servicios | service | ud. | 1200.00 | one_off | 3
MANT-A | Contrato de mantenimiento anual | Mantenimiento | service | ud. | 1450.00 | yearly | 10
SOP-M | Soporte remoto | Mantenimiento | service | mes | 95.00 | monthly | 20
LIC-A | Licencia anual de software | Mantenimiento | service | ud. | 390.00 | yearly | 40
"""
PRODUCTS = [[cell.strip() for cell in line.split("|")] for line in CATALOG.strip().splitlines()]
TOPICS = Weighted(
    [
        ("Renovación de los TPV de tienda", 10),
        ("Implantación del software de gestión", 10),
        ("Contrato de mantenimiento informático", 12),
        ("Ampliación de puestos de trabajo", 8),
        ("Servidor y copias de seguridad", 6),
        ("Migración de datos al nuevo programa", 5),
        ("Formación del personal", 6),
        ("Soporte remoto para las oficinas", 7),
        ("Digitalización del negocio (Kit Digital)", 8),
        ("Equipamiento de la nueva sede", 5),
        ("Renovación de licencias", 8),
        ("Consultoría de procesos", 5),
    ]
)
VALIDITY_DAYS = Weighted([(30, 60), (60, 25), (90, 15)])
LINE_COUNTS = Weighted([(1, 30), (2, 35), (3, 25), (4, 10)])
DISCOUNTS = Weighted([(0, 60), (5, 20), (10, 15), (15, 5)])
LOST_REASONS = {
    "Precio": 30,
    "Eligió a la competencia": 25,
    "Sin presupuesto": 15,
    "Sin respuesta del cliente": 15,
    "Proyecto aplazado o cancelado por el cliente": 10,
    "Producto no adecuado": 5,
}
CANCEL_REASONS = {"Proyecto aplazado o cancelado por el cliente": 6, "Sin presupuesto": 4}
LOST_NOTES = [
    "Otro proveedor les ofrece un 10 % menos.",
    "Lo retomarán el año que viene.",
    "Han decidido seguir con lo que tienen.",
    "Cambio de gerencia; se para todo.",
]
REJECT_NOTES = ["Se nos va de presupuesto.", "Preferimos esperar.", ""]
NEXT_STEPS = [
    "Llamar para revisar la oferta",
    "Enviar la propuesta revisada",
    "Reunión con la gerencia",
    "Esperar la aprobación del presupuesto",
    "Preparar la demostración",
    "Visitar las instalaciones",
]
KINDS = Weighted(
    [
        (ActivityKind.CALL, 35),
        (ActivityKind.EMAIL, 25),
        (ActivityKind.MEETING, 15),
        (ActivityKind.VISIT, 10),
        (ActivityKind.TASK, 15),
    ]
)
SUBJECTS = {
    ActivityKind.CALL: [
        "Llamada de seguimiento",
        "Llamada para concretar necesidades",
        "Llamada: dudas sobre la oferta",
        "Llamada de cierre",
    ],
    ActivityKind.EMAIL: [
        "Enviar información del producto",
        "Enviar referencias de clientes",
        "Responder dudas por e-mail",
        "Enviar la propuesta revisada",
    ],
    ActivityKind.MEETING: [
        "Reunión de presentación",
        "Análisis de necesidades",
        "Demostración del producto",
        "Reunión de negociación",
    ],
    ActivityKind.VISIT: [
        "Visita comercial",
        "Visita a las instalaciones",
        "Visita técnica para valorar la instalación",
    ],
    ActivityKind.TASK: [
        "Preparar la oferta",
        "Revisar condiciones con el equipo técnico",
        "Actualizar los datos del cliente",
        "Preparar el contrato",
    ],
}
OUTCOMES = [
    "Interesado; pide la oferta por escrito.",
    "Quiere compararlo con otro proveedor.",
    "Pendiente de la aprobación de la gerencia.",
    "Buena sintonía; pide una demostración.",
    "Pide mejorar el precio un 5 %.",
    "No contesta; se vuelve a intentar la semana que viene.",
]
MINUTES = {
    ActivityKind.CALL: (10, 30),
    ActivityKind.MEETING: (45, 90),
    ActivityKind.VISIT: (60, 120),
}
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass
class QuotePlan:
    quote: Quote
    lines: list[QuoteLine]
    email: str
    expired_at: dt.datetime | None = None


@dataclass
class DealPlan:
    """A deal made in memory, with what is written after it has its id."""

    deal: Opportunity
    moves: list[tuple[Stage, dt.datetime]]
    quote: QuotePlan | None = None
    lead: Lead | None = None

    def worked_until(self, now: dt.datetime) -> dt.datetime:
        """Until when its owner worked on the deal: its close, else a month after its last
        move (a stalled deal is left alone), at most until now."""
        if self.deal.closed_at is not None:
            return self.deal.closed_at
        return min(now - HOUR, self.moves[-1][1] + dt.timedelta(days=30))


class SalesHistory:
    """Makes the deals and everything around them in memory; deterministic for a seed and a
    start time."""

    def __init__(self, *, seed: int, settings: ReportSettings, pipeline: Pipeline):
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        self.settings = settings
        self.tz = settings.tz
        self.now = timezone.now()
        self.today = settings.today()
        self.pipeline = pipeline
        stages = list(pipeline.stages.filter(is_active=True).order_by("position", "id"))
        self.open_stages = [s for s in stages if s.kind == StageKind.OPEN]
        self.won_stage = next((s for s in stages if s.kind == StageKind.WON), None)
        lost = [s for s in stages if s.kind == StageKind.LOST]
        if not self.open_stages or self.won_stage is None or not lost:
            raise CommandError(
                f"The pipeline {pipeline} needs open, won and lost stages for the demo deals."
            )
        self.lost_stage, self.cancelled_stage = lost[0], lost[-1]
        self.offered = offered_stage(pipeline)
        reasons = list(LostReason.objects.filter(is_active=True).order_by("position", "pk"))
        if not reasons:
            raise CommandError("There are no lost reasons for the demo deals.")
        self.lost_reasons = Weighted((r, LOST_REASONS.get(r.name, 5)) for r in reasons)
        cancel = [(r, CANCEL_REASONS[r.name]) for r in reasons if r.name in CANCEL_REASONS]
        self.cancel_reasons = Weighted(cancel) if cancel else self.lost_reasons
        self.products = [p for p in Product.objects.filter(is_active=True) if p.unit_price > 0]
        self.most_units = {row[0]: int(row[7]) for row in PRODUCTS}
        self._accounts()

    def _accounts(self) -> None:
        """The demo accounts a deal may be about: an active sales owner, not inactive."""
        accounts = list(
            Account.objects.filter(
                owner__is_active=True, owner__role__in=[Role.SALES, Role.MANAGER]
            )
            .exclude(lifecycle=Lifecycle.INACTIVE)
            .select_related("owner", "channel")
            .order_by("created_at", "pk")
        )
        if not accounts:
            raise CommandError("There are no demo accounts with a sales owner: run seed_demo.")
        self.accounts = accounts
        self.account_times = [a.created_at for a in accounts]
        self.contacts: dict[int, Contact] = {}
        for contact in Contact.objects.filter(account__in=accounts, is_active=True).order_by(
            "-is_primary", "pk"
        ):
            self.contacts.setdefault(contact.account_id, contact)

    # -- time --

    def local_day(self, moment: dt.datetime) -> dt.date:
        return timezone.localtime(moment, self.tz).date()

    def at_work(self, day: dt.date) -> dt.datetime:
        """A moment of business hours on `day`, or on the Monday after it."""
        while day.weekday() >= 5:
            day += DAY
        minute = self.rng.randint(WORK_START, WORK_END)
        return dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=self.tz)

    def creation_times(self, count: int) -> list[dt.datetime]:
        """When the deals were opened: working days of the last two years, oldest first."""
        rng = self.rng
        moments = []
        while len(moments) < count:
            age = rng.randrange(HISTORY_DAYS)
            day = self.today - dt.timedelta(days=age)
            weight = (1 + RECENT_BONUS * (1 - age / HISTORY_DAYS)) * SEASON.get(day.month, 1)
            if day.weekday() >= 5 or rng.random() * (1 + RECENT_BONUS) > weight:
                continue
            moment = self.at_work(day)
            if moment >= self.now:
                moment = self.now - dt.timedelta(minutes=rng.randint(5, 120))
            moments.append(moment)
        return sorted(moments)

    # -- deals --

    def deal(self, created: dt.datetime) -> DealPlan:
        rng = self.rng
        account = self._account_for(created)
        owner = account.owner
        contact = self.contacts.get(account.pk)
        # Some deals stall and stay open; the others are won or lost, unless that is still
        # to come (a young deal is open in the stage it has reached so far).
        if rng.random() < STALLED_SHARE:
            outcome = "open"
        else:
            outcome = "won" if rng.random() < WIN_SHARE else "lost"
        moves = self._moves(created, self._path(outcome))
        if moves[-1][0].is_open:
            outcome = "open"
        stage, last = moves[-1]
        topic = TOPICS.pick(rng)
        deal = Opportunity(
            title=topic,
            account=account,
            contact=contact,
            owner=owner,
            team_id=owner.team_id,
            channel=account.channel,
            pipeline=self.pipeline,
            stage=stage,
            probability=stage.probability,
            closed_at=last if outcome != "open" else None,
            stage_changed_at=last,
            version=len(moves),
            created_by=owner,
            updated_by=owner,
            created_at=created,
            updated_at=last,
        )
        if outcome == "open":
            deal.next_step = rng.choice(NEXT_STEPS)
            days = rng.randint(-45, -1) if rng.random() < 0.06 else rng.randint(7, 150)
            deal.expected_close_date = self.today + dt.timedelta(days=days)
        elif outcome == "won":
            deal.expected_close_date = self.local_day(last)
        else:
            deal.expected_close_date = self.local_day(created) + dt.timedelta(
                days=rng.randint(30, 90)
            )
            cancelled = stage == self.cancelled_stage
            deal.lost_reason = (self.cancel_reasons if cancelled else self.lost_reasons).pick(rng)
            deal.lost_note = rng.choice(LOST_NOTES) if rng.random() < 0.3 else ""
        # The furthest open stage it has been in, which the funnel report reads (as the moves
        # write it); a plain attribute, so that it is ignored by a model without that field.
        deal.furthest_stage = max((s for s, _at in moves if s.is_open), key=lambda s: s.position)
        plan = DealPlan(deal=deal, moves=moves)
        target = self._amount()
        sent = next((at for s, at in moves if s == self.offered), None)
        email = (contact.email if contact else "") or account.email
        share = QUOTE_SHARE_WON if outcome == "won" else QUOTE_SHARE_OTHER
        if sent and email and self.products and rng.random() < share:
            plan.quote = self._quote(plan, target, sent, outcome, email)
            deal.amount = plan.quote.quote.subtotal
            names = [line.description for line in plan.quote.lines]
        else:
            deal.amount = target
            names = [p[1] for p in rng.sample(PRODUCTS, k=rng.randint(1, 2))]
        deal.products_of_interest = ", ".join(names)[:500]
        deal.refresh_search_text()
        return plan

    def _account_for(self, created: dt.datetime) -> Account:
        """An account that existed a day before the deal was opened."""
        eligible = bisect(self.account_times, created - DAY) or len(self.accounts)
        return self.accounts[self.rng.randrange(eligible)]

    def _path(self, outcome: str) -> list[Stage]:
        rng = self.rng
        stages = self.open_stages
        if outcome == "won":
            return [*stages, self.won_stage]
        reached = min(len(stages), rng.choices([1, 2, 3], weights=[45, 35, 20])[0])
        if outcome == "open":
            return stages[:reached]
        lost = self.cancelled_stage if rng.random() < CANCELLED_SHARE else self.lost_stage
        return [*stages[:reached], lost]

    def _moves(self, created: dt.datetime, path: list[Stage]) -> list[tuple[Stage, dt.datetime]]:
        """Each stage of `path` with when the deal entered it, days to weeks apart, as far as
        the path has gone by now."""
        rng = self.rng
        moves = [(path[0], created)]
        moment = created
        for index, stage in enumerate(path[1:]):
            low, high = STAGE_DAYS[min(index, len(STAGE_DAYS) - 1)]
            moment = self.at_work(
                self.local_day(moment) + dt.timedelta(days=rng.randint(low, high))
            )
            if moment >= self.now:
                break
            moves.append((stage, moment))
        return moves

    def _amount(self) -> Decimal:
        """Between 800 and 40,000 €, more small deals than large ones, in round figures."""
        value = math.exp(self.rng.uniform(math.log(MIN_AMOUNT), math.log(MAX_AMOUNT)))
        step = 100 if value > 5000 else 50
        return Decimal(int(round(value / step)) * step)

    # -- quotes --

    def _quote(
        self, plan: DealPlan, target: Decimal, sent: dt.datetime, outcome: str, email: str
    ) -> QuotePlan:
        rng = self.rng
        deal = plan.deal
        products = rng.sample(self.products, k=min(LINE_COUNTS.pick(rng), len(self.products)))
        shares = [rng.uniform(0.5, 1.5) for _product in products]
        lines = []
        for position, (product, share) in enumerate(zip(products, shares, strict=True)):
            discount = Decimal(DISCOUNTS.pick(rng))
            price = product.unit_price * (100 - discount) / 100
            wanted = target * Decimal(share / sum(shares)) / price
            units = max(1, min(self.most_units.get(product.code, 20), int(wanted + Decimal("0.5"))))
            lines.append(
                QuoteLine(
                    position=position,
                    product=product,
                    description=product.name,
                    quantity=Decimal(units),
                    unit=product.unit,
                    unit_price=product.unit_price,
                    discount_percent=discount,
                    vat_rate=product.vat_rate,
                    recurrence=product.recurrence,
                )
            )
        self._fit(lines)
        result = money.totals((line.base, line.vat_rate) for line in lines)
        issue = self.local_day(sent)
        quote = Quote(
            contact=deal.contact,
            title=deal.title,
            status=QuoteStatus.SENT,
            issue_date=issue,
            valid_until=issue + dt.timedelta(days=VALIDITY_DAYS.pick(rng)),
            subtotal=result.subtotal,
            tax_total=result.tax_total,
            total=result.total,
            sent_at=sent,
            created_by=deal.owner,
            created_at=max(deal.created_at, sent - dt.timedelta(hours=rng.randint(1, 48))),
            updated_at=sent,
        )
        planned = QuotePlan(quote=quote, lines=lines, email=email)
        expiry = dt.datetime.combine(
            quote.valid_until + DAY, dt.time(1, 5), tzinfo=self.tz
        )  # the hourly expiry task's first run of the next day
        closed = deal.closed_at
        if outcome == "won" or (outcome == "lost" and (expiry >= closed or rng.random() < 0.5)):
            accepted = outcome == "won"
            quote.status = QuoteStatus.ACCEPTED if accepted else QuoteStatus.REJECTED
            quote.answered_at = sent + (closed - sent) * rng.uniform(0.4, 0.95)
            if deal.contact:
                quote.answered_by_name = f"{deal.contact.first_name} {deal.contact.last_name}"
            quote.answered_by_name = quote.answered_by_name.strip() or deal.account.name
            quote.answered_ip = DOC_IP.format(rng.randint(1, 254))
            quote.answer_note = "" if accepted else rng.choice(REJECT_NOTES)
            quote.updated_at = quote.answered_at
        elif expiry < (closed or self.now):
            quote.status = QuoteStatus.EXPIRED
            quote.updated_at = planned.expired_at = expiry
        return planned

    def _fit(self, lines: list[QuoteLine]) -> None:
        """Quantities that keep the quote's base between the smallest and largest deal."""

        def base() -> Decimal:
            for line in lines:
                line.base = money.line_base(line.quantity, line.unit_price, line.discount_percent)
            return sum((line.base for line in lines), Decimal(0))

        while base() > MAX_AMOUNT and any(line.quantity > 1 for line in lines):
            line = max((x for x in lines if x.quantity > 1), key=lambda x: x.base)
            line.quantity -= max(1, int(line.quantity) // 10)
        while base() < MIN_AMOUNT:
            lines[0].quantity += 1

    # -- activities --

    def done_activities(self, plans: list[DealPlan], count: int) -> list[Activity]:
        """`count` done activities, at least one per deal, more on deals worked on longer."""
        rng = self.rng
        spans = [
            max(1.0, min(150.0, (p.worked_until(self.now) - p.deal.created_at).days)) for p in plans
        ]
        chosen = list(plans) + rng.choices(plans, weights=spans, k=max(0, count - len(plans)))
        return [self._done(plan) for plan in chosen[:count]]

    def _done(self, plan: DealPlan) -> Activity:
        rng = self.rng
        deal = plan.deal
        start = deal.created_at
        end = plan.worked_until(self.now)
        if end <= start:  # opened within the hour
            end = start + (self.now - start) / 2
        moment = start + (end - start) * rng.random()
        completed = self.at_work(self.local_day(moment))
        if not start < completed < end:
            completed = moment
        due = completed
        if rng.random() < LATE_SHARE:  # done a few days late
            due = max(start, completed - dt.timedelta(days=rng.randint(1, 8)))
        created = max(start, due - dt.timedelta(days=rng.randint(0, 7), hours=rng.randint(0, 8)))
        activity = self._activity(plan, created)
        activity.status = ActivityStatus.DONE
        activity.due_at = due
        activity.completed_at = completed
        activity.updated_at = completed
        if activity.kind in MINUTES or rng.random() < 0.5:
            activity.outcome = rng.choice(OUTCOMES)
        return activity

    def pending_activities(self, plans: list[DealPlan], count: int) -> list[Activity]:
        """`count` activities still to do on open deals (mostly those that moved lately), some
        of them overdue."""
        rng = self.rng
        open_plans = [p for p in plans if p.deal.closed_at is None]
        if not open_plans:
            return []
        recent = self.now - dt.timedelta(days=60)
        weights = [1 if p.moves[-1][1] > recent else 0.1 for p in open_plans]
        activities = []
        for plan in rng.choices(open_plans, weights=weights, k=count):
            deal = plan.deal
            overdue = rng.random() < OVERDUE_SHARE
            if overdue:
                due = self.at_work(self.today - dt.timedelta(days=rng.randint(3, 20)))
                if not deal.created_at < due < self.now:
                    overdue = False
            if not overdue:
                due = self.at_work(self.today + dt.timedelta(days=rng.randint(1, 30)))
            created = max(
                deal.created_at, min(self.now, due) - dt.timedelta(days=rng.randint(1, 10))
            )
            activity = self._activity(plan, created)
            activity.due_at = due
            activity.updated_at = created
            activities.append(activity)
        return activities

    def _activity(self, plan: DealPlan, created: dt.datetime) -> Activity:
        rng = self.rng
        deal = plan.deal
        kind = KINDS.pick(rng)
        activity = Activity(
            kind=kind,
            subject=rng.choice(SUBJECTS[kind]),
            duration_minutes=rng.randint(*MINUTES[kind]) if kind in MINUTES else None,
            priority=Priority.HIGH if rng.random() < 0.15 else Priority.NORMAL,
            assignee=deal.owner,
            opportunity=deal,  # saved before the activities, so it has its id by then
            account=deal.account,
            contact=deal.contact,
            created_by=deal.owner,
            created_at=created,
        )
        return activity

    # -- leads --

    def convert_leads(self, plans: list[DealPlan], leads: list[Lead], count: int) -> None:
        """Link `count` open leads (qualified first) to a deal their owner opened within two
        months after the lead came in, as converting them would have."""
        rng = self.rng
        by_owner: dict[int, list[DealPlan]] = defaultdict(list)
        for plan in plans:
            by_owner[plan.deal.owner_id].append(plan)
        order = {LeadStatus.QUALIFIED: 0, LeadStatus.CONTACTED: 1, LeadStatus.NEW: 2}
        candidates = list(leads)
        rng.shuffle(candidates)
        candidates.sort(key=lambda lead: order.get(lead.status, 3))
        converted = 0
        for lead in candidates:
            if converted == count:
                break
            deadline = lead.created_at + dt.timedelta(days=60)
            plan = next(
                (
                    p
                    for p in by_owner[lead.owner_id]
                    if p.lead is None and lead.created_at + HOUR < p.deal.created_at <= deadline
                ),
                None,
            )
            if plan is None:
                continue
            plan.lead = lead
            if lead.channel_id:
                plan.deal.channel_id = lead.channel_id
            if lead.products_of_interest:
                plan.deal.products_of_interest = lead.products_of_interest
                plan.deal.refresh_search_text()
            converted += 1

    # -- targets and snapshots --

    def targets(self, plans: list[DealPlan], done: list[Activity]) -> list[Target]:
        """This fiscal year's monthly targets of every deal owner, within ±20 % of what they
        achieved a month on average over the last twelve months, and their teams' as the sum
        of their members'."""
        rng = self.rng
        fiscal = self.settings.fiscal
        year = fiscal.year_of(self.today)
        months = months_between(fiscal.year_start(year), fiscal.year_end(year))
        this_month = self.today.replace(day=1)
        first = add_months(this_month, -12)
        achieved: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        teams: dict[int, int | None] = {}
        for plan in plans:
            deal = plan.deal
            teams[deal.owner_id] = deal.team_id
            if deal.stage_id == self.won_stage.pk:
                month = self.local_day(deal.closed_at).replace(day=1)
                if first <= month < this_month:
                    achieved[deal.owner_id, TargetMetric.REVENUE_WON] += deal.amount
                    achieved[deal.owner_id, TargetMetric.DEALS_WON] += 1
        for activity in done:
            month = self.local_day(activity.completed_at).replace(day=1)
            if first <= month < this_month:
                achieved[activity.assignee_id, TargetMetric.ACTIVITIES_DONE] += 1
        targets: dict[tuple, Decimal] = {}
        team_sums: dict[tuple, Decimal] = defaultdict(Decimal)
        for owner_id in sorted(teams):
            for metric in TargetMetric.values:
                average = achieved[owner_id, metric] / 12
                if not average:
                    continue
                for month in months:
                    value = average * Decimal(rng.uniform(1 - TARGET_SPREAD, 1 + TARGET_SPREAD))
                    if metric == TargetMetric.REVENUE_WON:
                        value = (value / 500).quantize(Decimal(1), ROUND_HALF_UP) * 500
                    else:  # under half a deal a month: no target that month
                        value = value.quantize(Decimal(1), ROUND_HALF_UP)
                    targets["user", owner_id, month, metric] = value
                    if teams[owner_id]:
                        team_sums["team", teams[owner_id], month, metric] += value
        targets.update(team_sums)
        existing = set()
        for user_id, team_id, month, metric in Target.objects.filter(month__in=months).values_list(
            "user_id", "team_id", "month", "metric"
        ):
            existing.add(
                ("user", user_id, month, metric) if user_id else ("team", team_id, month, metric)
            )
        return [
            Target(
                user_id=subject_id if kind == "user" else None,
                team_id=subject_id if kind == "team" else None,
                month=month,
                metric=metric,
                value=value,
            )
            for (kind, subject_id, month, metric), value in targets.items()
            if value > 0 and (kind, subject_id, month, metric) not in existing
        ]

    def snapshots(
        self, plans: list[DealPlan], activities: list[Activity]
    ) -> list[PipelineSnapshot]:
        """The open pipeline and overdue work at the end of every past day since the first
        deal, as the hourly task would have stored them: the dashboard compares today's with
        the same day of the previous period and of the previous year."""
        # (moment, (owner, team), deals, amount, amount × probability, overdue activities)
        steps: list[tuple] = []
        for plan in plans:
            deal = plan.deal
            key = (deal.owner_id, deal.team_id)
            for (stage, entered), (_next, left) in zip(
                plan.moves, [*plan.moves[1:], (None, None)], strict=True
            ):
                if stage.is_open:
                    weighted = deal.amount * stage.probability
                    steps.append((entered, key, 1, deal.amount, weighted, 0))
                    if left is not None:
                        steps.append((left, key, -1, -deal.amount, -weighted, 0))
        for activity in activities:
            key = (activity.assignee_id, activity.assignee.team_id)
            if activity.completed_at is None or activity.completed_at > activity.due_at:
                steps.append((activity.due_at, key, 0, 0, 0, 1))
                if activity.completed_at is not None:
                    steps.append((activity.completed_at, key, 0, 0, 0, -1))
        steps.sort(key=itemgetter(0))
        running: dict[tuple, list] = defaultdict(lambda: [0, Decimal(0), Decimal(0), 0])
        rows = []
        index = 0
        day = min(self.local_day(p.deal.created_at) for p in plans)
        while day < self.today:
            at = dt.datetime.combine(day + DAY, dt.time.min, tzinfo=self.tz)
            while index < len(steps) and steps[index][0] < at:
                _moment, key, *changes = steps[index]
                figures = running[key]
                for position, change in enumerate(changes):
                    figures[position] += change
                index += 1
            rows += [
                PipelineSnapshot(
                    day=day,
                    owner_id=owner_id,
                    team_id=team_id,
                    open_deals=n,
                    open_amount=amount.quantize(money.CENT, ROUND_HALF_UP),
                    weighted_amount=(weighted / 100).quantize(money.CENT, ROUND_HALF_UP),
                    overdue_activities=overdue,
                )
                for (owner_id, team_id), (n, amount, weighted, overdue) in running.items()
                if n or overdue
            ]
            day += DAY
        return rows


class Command(BaseCommand):
    help = (
        "Load two years of demo deals with their stage history, quotes, activities and this "
        "year's targets (after seed_demo and seed_demo_leads); does nothing if there are deals."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=600, help="How many (default 600).")
        parser.add_argument("--seed", type=int, default=3, help="Same seed, same data.")

    @transaction.atomic
    def handle(self, *args, deals: int, seed: int, **options):
        if deals < 1:
            raise CommandError("--deals must be 1 or more.")
        if Opportunity.objects.exists():
            self.stdout.write("There are deals already: no demo sales loaded.")
            return
        started = time.monotonic()
        products = self._products()
        history = SalesHistory(seed=seed, settings=report_settings(), pipeline=default_pipeline())
        plans = [history.deal(created) for created in history.creation_times(deals)]
        leads = list(
            Lead.objects.filter(status__in=OPEN_STATUSES, owner__isnull=False).order_by("pk")
        )
        history.convert_leads(plans, leads, round(Lead.objects.count() * LEAD_CONVERSION))
        done = history.done_activities(plans, round(deals * ACTIVITIES_PER_DEAL))
        pending = history.pending_activities(plans, round(deals * PENDING_PER_DEAL))
        with explicit_timestamps(Opportunity, Quote, Activity, Lead, LeadEvent, Product):
            Opportunity.objects.bulk_create([p.deal for p in plans], batch_size=500)
            changes = self._stage_history(plans)
            quotes = self._quotes(plans)
            self._activities(done + pending)
            converted = self._leads(plans)
        won_accounts = {p.deal.account_id for p in plans if p.deal.stage == history.won_stage}
        Account.objects.filter(pk__in=won_accounts).exclude(lifecycle=Lifecycle.CUSTOMER).update(
            lifecycle=Lifecycle.CUSTOMER
        )
        snapshots = history.snapshots(plans, done + pending)
        first_day = min((row.day for row in snapshots), default=history.today)
        PipelineSnapshot.objects.filter(day__gte=first_day, day__lt=history.today).delete()
        PipelineSnapshot.objects.bulk_create(snapshots, batch_size=1000)
        snapshot_take(day=history.today)
        targets = Target.objects.bulk_create(history.targets(plans, done), batch_size=500)
        outcomes = Counter(p.deal.stage.kind for p in plans)
        months = len({history.local_day(p.deal.created_at).replace(day=1) for p in plans})
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {len(plans)} demo deals over {months} months "
                f"({outcomes[StageKind.WON]} won, {outcomes[StageKind.LOST]} lost or cancelled, "
                f"{outcomes[StageKind.OPEN]} open) with {changes} stage changes, "
                f"{quotes} quotes, {len(done)} done and {len(pending)} pending activities, "
                f"{converted} converted leads, {len(targets)} targets"
                + (f", {products} products" if products else "")
                + f" in {time.monotonic() - started:.1f} s."
            )
        )

    def _products(self) -> int:
        """A small catalog in the default categories, when there is none."""
        if Product.objects.exists():
            return 0
        since = timezone.now() - dt.timedelta(days=HISTORY_DAYS + 30)
        categories = {}
        rows = []
        for code, name, category, kind, unit, price, recurrence, _most in PRODUCTS:
            if category not in categories:
                categories[category] = ProductCategory.objects.get_or_create(
                    name=category, defaults={"position": len(categories)}
                )[0]
            product = Product(
                code=code,
                name=name,
                kind=ProductKind(kind),
                category=categories[category],
                unit=unit,
                unit_price=Decimal(price),
                vat_rate="21",
                recurrence=Recurrence(recurrence),
                created_at=since,
                updated_at=since,
            )
            product.refresh_search_text()
            rows.append(product)
        with explicit_timestamps(Product):
            Product.objects.bulk_create(rows)
        return len(rows)

    def _stage_history(self, plans: list[DealPlan]) -> int:
        """Every move with `left_at` = the next move's time, and the deal's timeline."""
        changes, events = [], []
        for plan in plans:
            deal = plan.deal
            events.append(
                OpportunityEvent(
                    opportunity_id=deal.pk,
                    kind=OpportunityEventKind.CREATED,
                    actor_id=deal.owner_id,
                    created_at=deal.created_at,
                )
            )
            previous = None
            for index, (stage, at) in enumerate(plan.moves):
                following = plan.moves[index + 1][1] if index + 1 < len(plan.moves) else None
                changes.append(
                    StageChange(
                        opportunity_id=deal.pk,
                        from_stage=previous,
                        to_stage=stage,
                        actor_id=deal.owner_id,
                        changed_at=at,
                        left_at=following,
                    )
                )
                if previous is not None:
                    body = ""
                    if stage.is_lost:
                        body = f"{deal.lost_reason}: {deal.lost_note}".rstrip(": ")
                    events.append(
                        OpportunityEvent(
                            opportunity_id=deal.pk,
                            kind=OpportunityEventKind.STAGE,
                            actor_id=deal.owner_id,
                            created_at=at,
                            changes={"stage": [previous.name, stage.name]},
                            body=body,
                        )
                    )
                previous = stage
        StageChange.objects.bulk_create(changes, batch_size=1000)
        OpportunityEvent.objects.bulk_create(events, batch_size=1000)
        return len(changes)

    def _quotes(self, plans: list[DealPlan]) -> int:
        """Number the quotes in the order they were sent, per year after the year's last
        number, move the sequences on, and write the quotes, their lines and events."""
        planned = sorted((p for p in plans if p.quote), key=lambda p: p.quote.quote.sent_at)
        last = dict(QuoteSequence.objects.values_list("year", "last_number"))
        for plan in planned:
            quote = plan.quote.quote
            quote.opportunity_id = plan.deal.pk
            quote.year = quote.issue_date.year
            quote.sequence = last[quote.year] = last.get(quote.year, 0) + 1
            quote.number = format_quote_number(quote.year, quote.sequence)
        for year, number in last.items():
            QuoteSequence.objects.update_or_create(year=year, defaults={"last_number": number})
        Quote.objects.bulk_create([p.quote.quote for p in planned], batch_size=500)
        lines, events = [], []
        for plan in planned:
            quote = plan.quote.quote
            for line in plan.quote.lines:
                line.quote_id = quote.pk
                lines.append(line)
            events += self._quote_events(plan)
        QuoteLine.objects.bulk_create(lines, batch_size=1000)
        OpportunityEvent.objects.bulk_create(events, batch_size=1000)
        return len(planned)

    def _quote_events(self, plan: DealPlan) -> list[OpportunityEvent]:
        """The timeline rows quote_send, quote_answer and the expiry task write."""
        quote = plan.quote.quote

        def event(at, actor_id, body, status) -> OpportunityEvent:
            old = QuoteStatus.DRAFT if status == QuoteStatus.SENT else QuoteStatus.SENT
            return OpportunityEvent(
                opportunity_id=plan.deal.pk,
                kind=OpportunityEventKind.QUOTE,
                actor_id=actor_id,
                created_at=at,
                body=body,
                changes={"status": [str(old.label), str(QuoteStatus(status).label)]},
            )

        values = {"number": quote.number, "email": plan.quote.email, "name": ""}
        events = [
            event(
                quote.sent_at,
                plan.deal.owner_id,
                _("Quote %(number)s sent to %(email)s") % values,
                QuoteStatus.SENT,
            )
        ]
        if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED):
            values["name"] = quote.answered_by_name
            if quote.status == QuoteStatus.ACCEPTED:
                body = _("Quote %(number)s accepted by %(name)s") % values
            else:
                body = _("Quote %(number)s rejected by %(name)s") % values
            if quote.answer_note:
                body = f"{body}: {quote.answer_note}"
            events.append(event(quote.answered_at, None, body, quote.status))
        elif quote.status == QuoteStatus.EXPIRED:
            body = _("Quote %(number)s expired") % values
            events.append(event(plan.quote.expired_at, None, body, quote.status))
        return events

    def _activities(self, activities: list[Activity]) -> None:
        """The activities, and the timeline rows of the done ones (as activity_complete)."""
        Activity.objects.bulk_create(activities, batch_size=1000)
        account_events, deal_events = [], []
        for activity in activities:
            if activity.status != ActivityStatus.DONE:
                continue
            body = f"{activity.get_kind_display()}: {activity.subject}"
            if activity.outcome:
                body += "\n" + activity.outcome
            common = {
                "actor_id": activity.assignee_id,
                "body": body,
                "created_at": activity.completed_at,
            }
            account_events.append(
                AccountEvent(
                    account_id=activity.account_id,
                    contact_id=activity.contact_id,
                    kind=EventKind.ACTIVITY_DONE,
                    **common,
                )
            )
            deal_events.append(
                OpportunityEvent(
                    opportunity_id=activity.opportunity_id,
                    kind=OpportunityEventKind.ACTIVITY_DONE,
                    **common,
                )
            )
        AccountEvent.objects.bulk_create(account_events, batch_size=1000)
        OpportunityEvent.objects.bulk_create(deal_events, batch_size=1000)

    def _leads(self, plans: list[DealPlan]) -> int:
        """The leads turned into the deals they were matched with: converted at the deal's
        creation, with the event lead_convert writes."""
        events = []
        converted = [p for p in plans if p.lead is not None]
        for plan in converted:
            deal = plan.deal
            Lead.objects.filter(pk=plan.lead.pk).update(
                status=LeadStatus.CONVERTED,
                converted_account_id=deal.account_id,
                converted_contact_id=deal.contact_id,
                converted_opportunity_id=deal.pk,
                converted_at=deal.created_at,
                updated_by_id=deal.owner_id,
                updated_at=deal.created_at,
            )
            events.append(
                LeadEvent(
                    lead_id=plan.lead.pk,
                    kind=LeadEventKind.CONVERTED,
                    actor_id=deal.owner_id,
                    body=deal.account.name,
                    created_at=deal.created_at,
                )
            )
        LeadEvent.objects.bulk_create(events)
        return len(converted)
