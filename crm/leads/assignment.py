"""Who gets a new lead: the ordered assignment rules, then the fallback owner.

An `Assigner` is made once for a batch of leads (one lead by hand, a batch of an import) inside
the batch's transaction. Rules are loaded once and matched in memory; a round-robin rule's turn
is read under a row lock the first time the batch uses it and written back by `save()`, so
concurrent imports and the web form share one fair turn that survives restarts.
"""

from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count

from crm.core.text import fold
from crm.leads.models import (
    OPEN_STATUSES,
    AssignmentRule,
    AssignmentTarget,
    Lead,
    LeadSettings,
)
from crm.users.models import User

# Lead fields that the "text contains" condition looks in.
TEXT_FIELDS = ("first_name", "last_name", "company", "email", "city", "campaign", "notes")


@dataclass(frozen=True)
class Assignment:
    owner: User | None
    rule: AssignmentRule | None


class _CompiledRule:
    """A rule's conditions as sets and folded strings, for matching thousands of leads."""

    def __init__(self, rule: AssignmentRule):
        self.rule = rule
        self.channel_ids = {c.pk for c in rule.channels.all()}
        self.sector_ids = {s.pk for s in rule.sectors.all()}
        self.provinces = set(rule.provinces or [])
        self.sizes = set(rule.size_segments or [])
        self.product = fold(rule.product_contains).strip()
        self.text = fold(rule.text_contains).strip()

    def matches(self, lead: Lead) -> bool:
        rule = self.rule
        if self.channel_ids and lead.channel_id not in self.channel_ids:
            return False
        if self.sector_ids and lead.sector_id not in self.sector_ids:
            return False
        if self.provinces and lead.province not in self.provinces:
            return False
        if self.sizes and lead.size_segment not in self.sizes:
            return False
        if rule.min_score is not None and (lead.score or 0) < rule.min_score:
            return False
        if self.product and self.product not in fold(lead.products_of_interest):
            return False
        if self.text:
            haystack = " ".join(fold(getattr(lead, name) or "") for name in TEXT_FIELDS)
            if self.text not in haystack:
                return False
        return True


class Assigner:
    """Picks owners for new leads by the active rules; call `save()` before the batch commits."""

    def __init__(self, *, dry_run: bool = False):
        self.dry_run = dry_run
        rules = AssignmentRule.objects.filter(is_active=True).select_related(
            "target_user", "target_team"
        )
        self.rules = [_CompiledRule(rule) for rule in rules.prefetch_related("channels", "sectors")]
        fallback = LeadSettings.objects.select_related("fallback_owner").first()
        owner = fallback.fallback_owner if fallback else None
        self.fallback = owner if owner and owner.is_active else None
        self._members: dict[int, list[User]] = {}
        self._turns: dict[int, int | None] = {}  # rule id -> id of the member who had the turn
        self._loads: dict[int, Counter] = {}  # team id -> open leads per member

    def _team_members(self, team_id: int) -> list[User]:
        if team_id not in self._members:
            self._members[team_id] = list(
                User.objects.filter(team_id=team_id, is_active=True).order_by("pk")
            )
        return self._members[team_id]

    def _round_robin(self, rule: AssignmentRule) -> User | None:
        members = self._team_members(rule.target_team_id)
        if not members:
            return None
        if rule.pk not in self._turns:
            if self.dry_run:
                last = rule.last_assigned_id
            else:
                # The row lock makes a concurrent batch wait for this one's turn to be saved.
                last = (
                    AssignmentRule.objects.select_for_update()
                    .values_list("last_assigned_id", flat=True)
                    .get(pk=rule.pk)
                )
            self._turns[rule.pk] = last
        last = self._turns[rule.pk]
        following = [m for m in members if last is None or m.pk > last]
        chosen = following[0] if following else members[0]
        self._turns[rule.pk] = chosen.pk
        return chosen

    def _least_loaded(self, rule: AssignmentRule) -> User | None:
        members = self._team_members(rule.target_team_id)
        if not members:
            return None
        team_id = rule.target_team_id
        if team_id not in self._loads:
            counts = (
                Lead.objects.filter(owner__in=members, status__in=OPEN_STATUSES)
                .order_by()
                .values("owner")
                .annotate(n=Count("pk"))
            )
            self._loads[team_id] = Counter({row["owner"]: row["n"] for row in counts})
        loads = self._loads[team_id]
        chosen = min(members, key=lambda m: (loads[m.pk], m.pk))
        loads[chosen.pk] += 1
        return chosen

    def _target(self, rule: AssignmentRule) -> User | None:
        if rule.target == AssignmentTarget.USER:
            user = rule.target_user
            return user if user and user.is_active else None
        if rule.target == AssignmentTarget.ROUND_ROBIN:
            return self._round_robin(rule)
        return self._least_loaded(rule)

    def assign(self, lead: Lead) -> Assignment:
        """The owner the first matching rule gives (a rule whose target has nobody active is
        passed over), else the fallback owner, else nobody."""
        for compiled in self.rules:
            if compiled.matches(lead):
                owner = self._target(compiled.rule)
                if owner is not None:
                    return Assignment(owner=owner, rule=compiled.rule)
        return Assignment(owner=self.fallback, rule=None)

    def apply(self, lead: Lead) -> Assignment:
        """Set the lead's owner, team and rule from `assign`."""
        result = self.assign(lead)
        lead.owner = result.owner
        lead.team_id = result.owner.team_id if result.owner else None
        lead.assignment_rule = result.rule
        return result

    def save(self) -> None:
        """Store the round-robin turns this batch moved (inside the batch's transaction)."""
        if self.dry_run:
            return
        for rule_id, last in self._turns.items():
            AssignmentRule.objects.filter(pk=rule_id).update(last_assigned_id=last)


def assign_one(lead: Lead) -> Assignment:
    """Assign one lead in its own transaction step (by hand, web form, API)."""
    with transaction.atomic():
        assigner = Assigner()
        result = assigner.apply(lead)
        assigner.save()
    return result


def preview(lead: Lead) -> Assignment:
    """Which rule would take this sample lead, and who would get it, without taking a turn."""
    return Assigner(dry_run=True).assign(lead)
