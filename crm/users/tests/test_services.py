import pytest
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from crm.users.models import Role, Team, User
from crm.users.services import (
    team_save,
    token_for,
    token_regenerate,
    user_create,
    user_preferences_update,
    user_set_active,
    user_set_password,
    user_update,
)
from crm.users.tests.factories import PASSWORD, ManagerFactory, UserFactory


def _user_row(user: User) -> tuple:
    return User.objects.values_list("role", "team", "is_active", "email", "first_name").get(
        pk=user.pk
    )


# user_create


def test_user_create_normalises_the_data_and_hashes_the_password(admin, team):
    # When
    user = user_create(
        actor=admin,
        fields={
            "username": "lucia",
            "first_name": "Lucía",
            "last_name": "Muñoz",
            "email": " Lucia.Munoz@Example.COM ",
            "phone": "600 12 34 56",
            "role": Role.MANAGER,
            "team": team,
        },
        password="Correcto-Caballo-42",
    )

    # Then
    saved = User.objects.get(username="lucia")
    assert saved.pk == user.pk
    assert (saved.email, saved.phone, saved.role, saved.team, saved.is_active) == (
        "lucia.munoz@example.com",
        "+34600123456",
        "manager",
        team,
        True,
    )
    assert saved.check_password("Correcto-Caballo-42")
    assert saved.password != "Correcto-Caballo-42"


@pytest.mark.parametrize(
    "password",
    ["12345678", "corto", "password", "lucia.munoz", "lucia.munoz@example.com", ""],
)
def test_user_create_refuses_a_weak_password_and_saves_nothing(admin, password):
    # Given
    count = User.objects.count()

    # When
    with pytest.raises(ValidationError) as exc_info:
        user_create(
            actor=admin,
            fields={"username": "lucia.munoz", "email": "lucia.munoz@example.com"},
            password=password,
        )

    # Then
    assert list(exc_info.value.message_dict) == ["password"]
    assert User.objects.count() == count
    assert not User.objects.filter(username="lucia.munoz").exists()


def test_user_create_refuses_an_invalid_phone_and_saves_nothing(admin):
    with pytest.raises(ValidationError) as exc_info:
        user_create(actor=admin, fields={"username": "lucia", "phone": "123"}, password=PASSWORD)

    assert list(exc_info.value.message_dict) == ["phone"]
    assert not User.objects.filter(username="lucia").exists()


def test_user_create_refuses_a_taken_username_and_saves_nothing(admin, rep):
    count = User.objects.count()

    with pytest.raises(ValidationError) as exc_info:
        user_create(actor=admin, fields={"username": "rep", "role": "bogus"}, password=PASSWORD)

    assert sorted(exc_info.value.message_dict) == ["role", "username"]
    assert User.objects.count() == count


def test_user_create_refuses_an_unknown_field(admin):
    with pytest.raises(ValueError, match="unknown fields: \\['is_superuser'\\]"):
        user_create(
            actor=admin, fields={"username": "lucia", "is_superuser": True}, password=PASSWORD
        )

    assert not User.objects.filter(username="lucia").exists()


# user_update


def test_user_update_changes_role_team_and_data(admin, rep, other_rep):
    # When
    user_update(
        actor=admin,
        user=rep,
        fields={
            "role": Role.MANAGER,
            "team": other_rep.team,
            "email": " Nuevo@Example.com",
            "first_name": "Rita",
        },
    )

    # Then
    assert _user_row(rep) == ("manager", other_rep.team.pk, True, "nuevo@example.com", "Rita")


def test_user_update_refuses_an_admin_taking_their_own_admin_role(admin):
    # Given
    before = _user_row(admin)

    # When
    with pytest.raises(ValidationError) as exc_info:
        user_update(actor=admin, user=admin, fields={"role": Role.SALES, "first_name": "Otro"})

    # Then
    assert list(exc_info.value.message_dict) == ["role"]
    assert _user_row(admin) == before


def test_user_update_refuses_it_also_when_the_admin_is_loaded_twice(admin):
    # The view loads the edited user apart from request.user.
    same_admin = User.objects.get(pk=admin.pk)

    with pytest.raises(ValidationError):
        user_update(actor=admin, user=same_admin, fields={"role": Role.MANAGER})

    assert User.objects.get(pk=admin.pk).role == Role.ADMIN


def test_user_update_lets_an_admin_change_their_own_data(admin):
    user_update(actor=admin, user=admin, fields={"first_name": "Ana", "role": Role.ADMIN})

    assert User.objects.values_list("first_name", "role").get(pk=admin.pk) == ("Ana", "admin")


def test_user_update_lets_an_admin_demote_another_admin(admin):
    other_admin = UserFactory(role=Role.ADMIN)

    user_update(actor=admin, user=other_admin, fields={"role": Role.SALES})

    assert User.objects.get(pk=other_admin.pk).role == Role.SALES


def test_user_update_lets_a_superuser_change_their_own_role(db):
    # A superuser stays an administrator whatever their role.
    root = UserFactory(role=Role.ADMIN, is_superuser=True)

    user_update(actor=root, user=root, fields={"role": Role.SALES})

    assert User.objects.get(pk=root.pk).role == Role.SALES


def test_user_update_refuses_an_invalid_phone_and_changes_nothing(admin, rep):
    before = _user_row(rep)

    with pytest.raises(ValidationError) as exc_info:
        user_update(actor=admin, user=rep, fields={"phone": "12", "first_name": "Otro"})

    assert list(exc_info.value.message_dict) == ["phone"]
    assert _user_row(rep) == before


# user_set_active


def test_user_set_active_deactivates_and_deletes_the_api_token(admin, rep, other_rep):
    # Given
    token_for(user=rep)
    other_token = token_for(user=other_rep)

    # When
    user_set_active(actor=admin, user=rep, active=False)

    # Then
    assert User.objects.get(pk=rep.pk).is_active is False
    assert list(Token.objects.all()) == [other_token]


def test_user_set_active_refuses_to_deactivate_oneself(admin):
    # Given
    token = token_for(user=admin)

    # When
    with pytest.raises(ValidationError):
        user_set_active(actor=admin, user=admin, active=False)

    # Then
    assert User.objects.get(pk=admin.pk).is_active is True
    assert list(Token.objects.all()) == [token]


def test_user_set_active_reactivates_without_a_new_token(admin):
    gone = UserFactory(is_active=False)

    user_set_active(actor=admin, user=gone, active=True)

    assert User.objects.get(pk=gone.pk).is_active is True
    assert not Token.objects.exists()


# passwords, preferences and tokens


def test_user_set_password_changes_it(rep):
    user_set_password(user=rep, password="Otra-Clave-Larga-77")

    assert User.objects.get(pk=rep.pk).check_password("Otra-Clave-Larga-77")


def test_user_set_password_refuses_a_weak_one_and_keeps_the_old(rep):
    with pytest.raises(ValidationError) as exc_info:
        user_set_password(user=rep, password="12345678")

    assert list(exc_info.value.message_dict) == ["password"]
    assert User.objects.get(pk=rep.pk).check_password(PASSWORD)


def test_user_preferences_update_changes_the_language(rep):
    user_preferences_update(user=rep, language="en")

    assert User.objects.get(pk=rep.pk).language == "en"


def test_user_preferences_update_refuses_an_unknown_language(rep):
    with pytest.raises(ValidationError) as exc_info:
        user_preferences_update(user=rep, language="fr")

    assert list(exc_info.value.message_dict) == ["language"]
    assert User.objects.get(pk=rep.pk).language == "es"


def test_token_regenerate_replaces_the_token(rep):
    old = token_for(user=rep)

    new = token_regenerate(user=rep)

    assert new.key != old.key
    assert list(Token.objects.values_list("key", flat=True)) == [new.key]
    assert token_for(user=rep) == new


# team_save


def test_team_save_creates_a_team_led_by_a_manager(db):
    leader = ManagerFactory()

    team = team_save(team=Team(), name="  Zona Norte ", manager=leader)

    assert Team.objects.values_list("name", "manager").get(pk=team.pk) == ("Zona Norte", leader.pk)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_team_save_accepts_a_manager_or_an_admin_as_leader(db, role):
    leader = UserFactory(role=role)

    team = team_save(team=Team(), name="Zona Norte", manager=leader)

    assert Team.objects.get(pk=team.pk).manager == leader


def test_team_save_accepts_a_team_without_leader(team):
    team_save(team=team, name="Zona Sur", manager=None)

    assert Team.objects.values_list("name", "manager").get(pk=team.pk) == ("Zona Sur", None)


def test_team_save_refuses_a_sales_rep_as_leader_and_saves_nothing(team, manager, rep):
    # When
    with pytest.raises(ValidationError) as exc_info:
        team_save(team=team, name="Otro nombre", manager=rep)

    # Then
    assert list(exc_info.value.message_dict) == ["manager"]
    assert Team.objects.values_list("name", "manager").get(pk=team.pk) == (
        team.name,
        manager.pk,
    )


def test_team_save_refuses_a_sales_rep_as_leader_of_a_new_team(rep):
    count = Team.objects.count()

    with pytest.raises(ValidationError):
        team_save(team=Team(), name="Zona Norte", manager=rep)

    assert Team.objects.count() == count


def test_team_save_refuses_a_taken_name(team, other_rep):
    with pytest.raises(ValidationError) as exc_info:
        team_save(team=Team(), name=other_rep.team.name, manager=None)

    assert list(exc_info.value.message_dict) == ["name"]
