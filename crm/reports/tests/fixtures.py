"""The reports' correctness data set: few enough records to work every figure out by hand.

Every moment is written in UTC, with what it is in Madrid and the month it counts in there:
March 2026 ends on CEST (UTC+2) and December 2025 on CET (UTC+1), so several records sit on
the edge of a month, where counting in UTC would put them in the wrong one. "Today" is
Wednesday 15 April 2026, 10:00 in Madrid (NOW): tests that read the clock freeze it there.

People. Team Norte: Marta (sales manager, manages Norte), Ana (sales rep). Team Sur: Bruno
(sales rep). Alicia is the administrator. Accounts: A (Ana's, Madrid 28, Comercio), B
(Bruno's, Barcelona 08, Industria), M (Marta's, Madrid 28, Industria).

Deals (stage; created -> closed, in Madrid; amount; channel; account/owner):

    D1  Ganada       2026-03-01 23:30 -> 2026-04-01 00:30 (22:30Z)   800  Web    A Ana    30 d
    D2  Ganada       2026-03-11 22:59:59 -> 2026-03-31 23:59:59 (21:59:59Z)
                                                                     1500  Feria  B Bruno  20 d
    D3  Ganada       2025-12-01 00:00 (11-30 23:00Z) -> 2026-01-01 00:00 (12-31 23:00Z)
                                                                     2000  Feria  A Ana    31 d
    D4  Ganada       2026-04-01 10:00 -> 2026-04-11 10:00             1200  Web    M Marta  10 d
    D5  Perdida      2025-11-14 -> 2025-12-31 23:59:59 (22:59:59Z)     700  Web    B Bruno
    D6  Ganada       2025-03-03 -> 2025-04-02                          1000  Web    A Ana    30 d
    D7  Ganada       2025-01-10 -> 2025-01-20                           600  Feria  B Bruno  10 d
    D8  Cancelada    2025-04-01 -> 2025-04-14                           400  Web    B Bruno
    D9  Perdida      2026-03-01 00:00 (02-28 23:00Z) -> 2026-03-12 00:00 (03-11 23:00Z)
                                                                      300  Web    A Ana
    D10 En análisis  open since 2026-04-02, expected 2026-05-20        1000  Web    A Ana    10 %
    D11 Oferta pres. open since 2026-01-15, expected 2026-04-30        2000  Feria  B Bruno  40 %
    D12 En negoc.    open since 2025-10-01, expected 2026-03-31         500  Web    M Marta  70 %
    D13 En negoc.    open since 2026-02-20, expected 2026-06-15        3000  (none) B Bruno  70 %

Stage history (stays in days): D1 análisis 10, oferta 20 (left 03-31 22:30Z); D2 análisis
5, negociación 15 (left 03-31 21:59:59Z); D4 análisis 10; D9 análisis 7, oferta 4; D11
análisis 30 (left 02-14), oferta since 02-14; D12 análisis 61 (left 2025-12-01), negociación
since; D13 análisis 10 (left 03-02), oferta 30 (left 04-01), negociación since 04-01; D3, D5,
D6, D7, D8 one stay in análisis from creation to closing.

Leads (created in Madrid; owner; channel; converted into):

    L1  2026-03-01 11:00             Ana    Web    -> D1
    L2  2026-04-01 00:30 (03-31 22:30Z)   Ana    Web
    L3  2026-03-31 23:59:59 (21:59:59Z)   Bruno  Feria
    L4  2026-03-10                   Bruno  Feria  -> D2
    L5  2026-04-01 09:00             Marta  Web    -> D4
    L6  2025-03-02                   Ana    Feria  -> D6
    L7  2025-04-10                   Bruno  Web
    L8  2026-01-01 00:00 (2025-12-31 23:00Z)  Ana  Web
    L9  2026-04-03                   nobody Web    (no team, no province, no sector)
    L10 2025-04-20                   Bruno  Feria

Quotes (sent in Madrid; status, answered; base; lines): Q1 on D1 sent 2026-04-01 00:30
(03-31 22:30Z), accepted 2026-04-01, 800 = Router 500 + Instalación 300; Q2 on D2 sent
2026-03-31 23:00, accepted 2026-03-31 23:59:59, 1500 = Instalación 1500; Q3 on D11 sent
2026-04-10, unanswered, 2000 = Router 2000; Q4 on D6 sent 2025-03-20, accepted 2025-04-01,
1000 = Router 1000; Q5 on D8 sent 2025-04-05, rejected 2025-04-14, 400 = Instalación 400;
Q6 on D10, a draft never sent, 1000 = Router 1000. Router is a "Productos" product,
Instalación a "Servicios" one.

Activities: A1 Ana call done 2026-04-01 00:30 (03-31 22:30Z); A2 Ana meeting done 2026-03-31
23:59:59 (21:59:59Z); A3 Bruno call done 2026-04-08; A4 Marta visit done 2026-04-09; A5
Bruno call done 2025-04-09; A6 Ana task pending, due 2026-04-10 (overdue); A7 Bruno call
cancelled 2026-04-12; A8 Bruno task pending, due 2026-04-20.

Stored pipeline snapshots: 2026-03-15 Ana/Norte 1000 open, 400 weighted, 2 overdue and
Bruno/Sur 5000, 2000, 0; 2025-04-15 Ana/Norte 2000, 800, 0.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from crm.activities.models import ActivityKind, ActivityStatus
from crm.activities.tests.factories import ActivityFactory
from crm.core.models import Channel, Sector
from crm.core.selectors import company_settings_get
from crm.customers.tests.factories import AccountFactory
from crm.leads.models import LeadStatus
from crm.leads.tests.factories import LeadFactory
from crm.reports.models import PipelineSnapshot
from crm.reports.selectors import ReportSettings, report_settings
from crm.sales.models import (
    Opportunity,
    Pipeline,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    StageChange,
)
from crm.sales.tests.factories import OpportunityFactory, ProductFactory
from crm.users.models import Team, User
from crm.users.tests.factories import AdminFactory, ManagerFactory, TeamFactory, UserFactory

UTC = dt.UTC
NOW = dt.datetime(2026, 4, 15, 8, 0, tzinfo=UTC)  # Wednesday 15 April 2026, 10:00 in Madrid
TODAY = dt.date(2026, 4, 15)


def utc(year, month, day, hour=0, minute=0, second=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@dataclass
class DataSet:
    admin: User
    marta: User
    ana: User
    bruno: User
    norte: Team
    sur: Team
    web: Channel
    feria: Channel
    comercio: Sector
    industria: Sector
    productos: ProductCategory
    servicios: ProductCategory
    router: object
    instalacion: object
    pipeline: Pipeline
    stages: dict
    accounts: dict = field(default_factory=dict)
    deals: dict = field(default_factory=dict)
    leads: dict = field(default_factory=dict)
    quotes: dict = field(default_factory=dict)
    activities: dict = field(default_factory=dict)


def use_fiscal_year(start_month: int) -> ReportSettings:
    """Make the company's fiscal year start in `start_month`; the settings figures follow."""
    company = company_settings_get()
    company.fiscal_year_start_month = start_month
    company.save(update_fields=["fiscal_year_start_month"])
    return report_settings()


def _deal(
    data: DataSet,
    key,
    *,
    owner,
    account,
    amount,
    stage,
    channel,
    created,
    closed=None,
    expected=None,
    history=(),
):
    """A deal with its timestamps and its stage history [(stage, entered, left), ...]."""
    stage_obj = data.stages[stage]
    deal = OpportunityFactory(
        title=key,
        account=data.accounts[account],
        owner=owner,
        team=owner.team,
        channel=channel,
        amount=Decimal(amount),
        stage=stage_obj,
        probability=stage_obj.probability,
        expected_close_date=expected,
    )
    history = list(history) or [("En análisis", created, closed)]
    if closed is not None and history[-1][0] != stage:
        history.append((stage, closed, None))
    previous = None
    for name, entered, left in history:
        StageChange.objects.create(
            opportunity=deal,
            from_stage=previous,
            to_stage=data.stages[name],
            changed_at=entered,
            left_at=left,
        )
        previous = data.stages[name]
    # The furthest open stage of its history, as the moves would have recorded it.
    reached = [data.stages[name] for name, _entered, _left in history]
    reached = [s for s in reached if s.kind == "open"]
    Opportunity.objects.filter(pk=deal.pk).update(
        created_at=created,
        closed_at=closed,
        stage_changed_at=history[-1][1],
        furthest_stage=max(reached, key=lambda s: s.position) if reached else None,
    )
    deal.refresh_from_db()
    data.deals[key] = deal
    return deal


def _lead(data: DataSet, key, *, owner, channel, created, converted=None):
    province, sector = {
        None: ("", None),
        data.ana.pk: ("28", data.comercio),
        data.marta.pk: ("28", data.industria),
        data.bruno.pk: ("08", data.industria),
    }[owner.pk if owner else None]
    deal = data.deals[converted] if converted else None
    lead = LeadFactory(
        company=f"Empresa {key}",
        owner=owner,
        team=owner.team if owner else None,
        channel=channel,
        province=province,
        sector=sector,
        status=LeadStatus.CONVERTED if deal else LeadStatus.NEW,
        converted_opportunity=deal,
        converted_account=deal.account if deal else None,
    )
    type(lead).objects.filter(pk=lead.pk).update(
        created_at=created, converted_at=deal.created_at if deal else None
    )
    data.leads[key] = lead
    return lead


def _quote(data: DataSet, key, *, deal, status, sent=None, answered=None, lines=()):
    subtotal = sum((Decimal(base) for _product, base in lines), Decimal(0))
    quote = Quote.objects.create(
        opportunity=data.deals[deal],
        title=key,
        status=status,
        valid_until=dt.date(2026, 12, 31),
        subtotal=subtotal,
        tax_total=subtotal * Decimal("0.21"),
        total=subtotal * Decimal("1.21"),
        sent_at=sent,
        answered_at=answered,
    )
    for position, (product, base) in enumerate(lines):
        QuoteLine.objects.create(
            quote=quote,
            position=position,
            product=product,
            description=product.name,
            unit_price=Decimal(base),
            base=Decimal(base),
        )
    data.quotes[key] = quote
    return quote


def _activity(data: DataSet, key, *, assignee, kind, status, done=None, due=None):
    activity = ActivityFactory(
        subject=key,
        assignee=assignee,
        created_by=assignee,
        kind=kind,
        status=status,
        completed_at=done,
        due_at=due or done,
    )
    data.activities[key] = activity
    return activity


def build_data_set() -> DataSet:
    """Create the data set described in this module's docstring (company in Madrid, fiscal
    year from January: call `use_fiscal_year(4)` for April)."""
    use_fiscal_year(1)
    norte = TeamFactory(name="Norte")
    sur = TeamFactory(name="Sur")
    marta = ManagerFactory(username="marta", first_name="Marta", last_name="Martín", team=norte)
    norte.manager = marta
    norte.save()
    pipeline = Pipeline.objects.get(is_default=True)
    data = DataSet(
        admin=AdminFactory(username="alicia", first_name="Alicia", last_name="Admin"),
        marta=marta,
        ana=UserFactory(username="ana", first_name="Ana", last_name="Alonso", team=norte),
        bruno=UserFactory(username="bruno", first_name="Bruno", last_name="Blanco", team=sur),
        norte=norte,
        sur=sur,
        web=Channel.objects.get(name="Web"),
        feria=Channel.objects.get(name="Feria"),
        comercio=Sector.objects.get(name="Comercio"),
        industria=Sector.objects.get(name="Industria"),
        productos=ProductCategory.objects.get(name="Productos"),
        servicios=ProductCategory.objects.get(name="Servicios"),
        router=None,
        instalacion=None,
        pipeline=pipeline,
        stages={s.name: s for s in pipeline.stages.all()},
    )
    data.router = ProductFactory(code="ROUTER", name="Router", category=data.productos)
    data.instalacion = ProductFactory(
        code="INST", name="Instalación", category=data.servicios, vat_rate="21"
    )
    for key, owner, province, sector in [
        ("A", data.ana, "28", data.comercio),
        ("B", data.bruno, "08", data.industria),
        ("M", data.marta, "28", data.industria),
    ]:
        data.accounts[key] = AccountFactory(
            name=f"Cuenta {key}", owner=owner, billing_province=province, sector=sector
        )
    ana, bruno, marta, web, feria = data.ana, data.bruno, data.marta, data.web, data.feria

    # -- deals --
    _deal(
        data,
        "D1",
        owner=ana,
        account="A",
        amount=800,
        stage="Ganada",
        channel=web,
        created=utc(2026, 3, 1, 22, 30),
        closed=utc(2026, 3, 31, 22, 30),
        history=[
            ("En análisis", utc(2026, 3, 1, 22, 30), utc(2026, 3, 11, 22, 30)),
            ("Oferta presentada", utc(2026, 3, 11, 22, 30), utc(2026, 3, 31, 22, 30)),
        ],
    )
    _deal(
        data,
        "D2",
        owner=bruno,
        account="B",
        amount=1500,
        stage="Ganada",
        channel=feria,
        created=utc(2026, 3, 11, 21, 59, 59),
        closed=utc(2026, 3, 31, 21, 59, 59),
        history=[
            ("En análisis", utc(2026, 3, 11, 21, 59, 59), utc(2026, 3, 16, 21, 59, 59)),
            ("En negociación", utc(2026, 3, 16, 21, 59, 59), utc(2026, 3, 31, 21, 59, 59)),
        ],
    )
    _deal(
        data,
        "D3",
        owner=ana,
        account="A",
        amount=2000,
        stage="Ganada",
        channel=feria,
        created=utc(2025, 11, 30, 23),
        closed=utc(2025, 12, 31, 23),
    )
    _deal(
        data,
        "D4",
        owner=marta,
        account="M",
        amount=1200,
        stage="Ganada",
        channel=web,
        created=utc(2026, 4, 1, 8),
        closed=utc(2026, 4, 11, 8),
    )
    _deal(
        data,
        "D5",
        owner=bruno,
        account="B",
        amount=700,
        stage="Perdida",
        channel=web,
        created=utc(2025, 11, 14, 10),
        closed=utc(2025, 12, 31, 22, 59, 59),
    )
    _deal(
        data,
        "D6",
        owner=ana,
        account="A",
        amount=1000,
        stage="Ganada",
        channel=web,
        created=utc(2025, 3, 3, 9),
        closed=utc(2025, 4, 2, 9),
    )
    _deal(
        data,
        "D7",
        owner=bruno,
        account="B",
        amount=600,
        stage="Ganada",
        channel=feria,
        created=utc(2025, 1, 10, 9),
        closed=utc(2025, 1, 20, 9),
    )
    _deal(
        data,
        "D8",
        owner=bruno,
        account="B",
        amount=400,
        stage="Cancelada",
        channel=web,
        created=utc(2025, 4, 1, 9),
        closed=utc(2025, 4, 14, 10),
    )
    _deal(
        data,
        "D9",
        owner=ana,
        account="A",
        amount=300,
        stage="Perdida",
        channel=web,
        created=utc(2026, 2, 28, 23),
        closed=utc(2026, 3, 11, 23),
        history=[
            ("En análisis", utc(2026, 2, 28, 23), utc(2026, 3, 7, 23)),
            ("Oferta presentada", utc(2026, 3, 7, 23), utc(2026, 3, 11, 23)),
        ],
    )
    _deal(
        data,
        "D10",
        owner=ana,
        account="A",
        amount=1000,
        stage="En análisis",
        channel=web,
        created=utc(2026, 4, 2, 10),
        expected=dt.date(2026, 5, 20),
        history=[("En análisis", utc(2026, 4, 2, 10), None)],
    )
    _deal(
        data,
        "D11",
        owner=bruno,
        account="B",
        amount=2000,
        stage="Oferta presentada",
        channel=feria,
        created=utc(2026, 1, 15, 10),
        expected=dt.date(2026, 4, 30),
        history=[
            ("En análisis", utc(2026, 1, 15, 10), utc(2026, 2, 14, 10)),
            ("Oferta presentada", utc(2026, 2, 14, 10), None),
        ],
    )
    _deal(
        data,
        "D12",
        owner=marta,
        account="M",
        amount=500,
        stage="En negociación",
        channel=web,
        created=utc(2025, 10, 1, 10),
        expected=dt.date(2026, 3, 31),
        history=[
            ("En análisis", utc(2025, 10, 1, 10), utc(2025, 12, 1, 10)),
            ("En negociación", utc(2025, 12, 1, 10), None),
        ],
    )
    _deal(
        data,
        "D13",
        owner=bruno,
        account="B",
        amount=3000,
        stage="En negociación",
        channel=None,
        created=utc(2026, 2, 20, 10),
        expected=dt.date(2026, 6, 15),
        history=[
            ("En análisis", utc(2026, 2, 20, 10), utc(2026, 3, 2, 10)),
            ("Oferta presentada", utc(2026, 3, 2, 10), utc(2026, 4, 1, 10)),
            ("En negociación", utc(2026, 4, 1, 10), None),
        ],
    )

    # -- leads --
    _lead(data, "L1", owner=ana, channel=web, created=utc(2026, 3, 1, 10), converted="D1")
    _lead(data, "L2", owner=ana, channel=web, created=utc(2026, 3, 31, 22, 30))
    _lead(data, "L3", owner=bruno, channel=feria, created=utc(2026, 3, 31, 21, 59, 59))
    _lead(data, "L4", owner=bruno, channel=feria, created=utc(2026, 3, 10, 10), converted="D2")
    _lead(data, "L5", owner=marta, channel=web, created=utc(2026, 4, 1, 7), converted="D4")
    _lead(data, "L6", owner=ana, channel=feria, created=utc(2025, 3, 2, 10), converted="D6")
    _lead(data, "L7", owner=bruno, channel=web, created=utc(2025, 4, 10, 10))
    _lead(data, "L8", owner=ana, channel=web, created=utc(2025, 12, 31, 23))
    _lead(data, "L9", owner=None, channel=web, created=utc(2026, 4, 3, 10))
    _lead(data, "L10", owner=bruno, channel=feria, created=utc(2025, 4, 20, 10))

    # -- quotes --
    router, inst = data.router, data.instalacion
    _quote(
        data,
        "Q1",
        deal="D1",
        status=QuoteStatus.ACCEPTED,
        sent=utc(2026, 3, 31, 22, 30),
        answered=utc(2026, 4, 1, 8),
        lines=[(router, 500), (inst, 300)],
    )
    _quote(
        data,
        "Q2",
        deal="D2",
        status=QuoteStatus.ACCEPTED,
        sent=utc(2026, 3, 31, 21),
        answered=utc(2026, 3, 31, 21, 59, 59),
        lines=[(inst, 1500)],
    )
    _quote(
        data,
        "Q3",
        deal="D11",
        status=QuoteStatus.SENT,
        sent=utc(2026, 4, 10, 10),
        lines=[(router, 2000)],
    )
    _quote(
        data,
        "Q4",
        deal="D6",
        status=QuoteStatus.ACCEPTED,
        sent=utc(2025, 3, 20, 10),
        answered=utc(2025, 4, 1, 10),
        lines=[(router, 1000)],
    )
    _quote(
        data,
        "Q5",
        deal="D8",
        status=QuoteStatus.REJECTED,
        sent=utc(2025, 4, 5, 10),
        answered=utc(2025, 4, 14, 10),
        lines=[(inst, 400)],
    )
    _quote(data, "Q6", deal="D10", status=QuoteStatus.DRAFT, lines=[(router, 1000)])

    # -- activities --
    done, pending = ActivityStatus.DONE, ActivityStatus.PENDING
    _activity(
        data, "A1", assignee=ana, kind=ActivityKind.CALL, status=done, done=utc(2026, 3, 31, 22, 30)
    )
    _activity(
        data,
        "A2",
        assignee=ana,
        kind=ActivityKind.MEETING,
        status=done,
        done=utc(2026, 3, 31, 21, 59, 59),
    )
    _activity(
        data, "A3", assignee=bruno, kind=ActivityKind.CALL, status=done, done=utc(2026, 4, 8, 10)
    )
    _activity(
        data, "A4", assignee=marta, kind=ActivityKind.VISIT, status=done, done=utc(2026, 4, 9, 10)
    )
    _activity(
        data, "A5", assignee=bruno, kind=ActivityKind.CALL, status=done, done=utc(2025, 4, 9, 10)
    )
    _activity(
        data, "A6", assignee=ana, kind=ActivityKind.TASK, status=pending, due=utc(2026, 4, 10, 10)
    )
    _activity(
        data,
        "A7",
        assignee=bruno,
        kind=ActivityKind.CALL,
        status=ActivityStatus.CANCELLED,
        done=utc(2026, 4, 12, 10),
    )
    _activity(
        data, "A8", assignee=bruno, kind=ActivityKind.TASK, status=pending, due=utc(2026, 4, 20, 10)
    )

    # -- stored snapshots --
    for day, owner, team, open_amount, weighted, overdue in [
        (dt.date(2026, 3, 15), ana, data.norte, 1000, 400, 2),
        (dt.date(2026, 3, 15), bruno, data.sur, 5000, 2000, 0),
        (dt.date(2025, 4, 15), ana, data.norte, 2000, 800, 0),
    ]:
        PipelineSnapshot.objects.create(
            day=day,
            owner=owner,
            team=team,
            open_amount=Decimal(open_amount),
            weighted_amount=Decimal(weighted),
            overdue_activities=overdue,
        )
    return data
