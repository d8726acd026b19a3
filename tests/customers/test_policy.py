"""The field policy: every profile field × every portal role and staff group, against an
expectation table written here from the issue's defaults (not read from the code)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import override_settings

from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers import actions, policy
from clientdesk.customers.checks import check_field_mode_overrides
from clientdesk.customers.models import Customer
from clientdesk.customers.policy import Authority, Section

PORTAL_ROLES = ("owner", "admin", "billing", "technical", "member")
EVERYONE = frozenset(PORTAL_ROLES)
HOLDERS = frozenset({"owner", "admin"})  # personal data of the account holder
MONEY = frozenset({"owner", "admin", "billing"})  # "view billing and credits"

# field → (section, mode, portal roles that see it). The defaults: Personal,
# Business (except the registration number), E-Invoice and Contact (except the primary
# email) and Preferences are direct; legal and billing identity and the registration
# number need approval; the primary email is verified; number and status are read-only;
# kind, pricing model, price adjustment, billing mode and credit limit are set by staff.
EXPECTED: dict[str, tuple[str, str, frozenset[str]]] = {
    "full_name": ("personal", "direct", HOLDERS),
    "nationality": ("personal", "direct", HOLDERS),
    "id_type": ("personal", "direct", HOLDERS),
    "date_of_birth": ("personal", "direct", HOLDERS),
    "id_number": ("personal", "direct", HOLDERS),
    "registration_number": ("business", "approval", EVERYONE),
    "trading_name": ("business", "direct", EVERYONE),
    "website": ("business", "direct", EVERYONE),
    "tin": ("einvoice", "direct", EVERYONE),
    "sst_number": ("einvoice", "direct", EVERYONE),
    "tourism_tax_number": ("einvoice", "direct", EVERYONE),
    "msic_code": ("einvoice", "direct", EVERYONE),
    "business_activity": ("einvoice", "direct", EVERYONE),
    "einvoice_email": ("einvoice", "direct", EVERYONE),
    "primary_email": ("contact", "verified", EVERYONE),
    "billing_email": ("contact", "direct", EVERYONE),
    "other_emails": ("contact", "direct", EVERYONE),
    "phone": ("contact", "direct", EVERYONE),
    "mobile": ("contact", "direct", EVERYONE),
    "postal_line1": ("contact", "direct", EVERYONE),
    "postal_line2": ("contact", "direct", EVERYONE),
    "postal_city": ("contact", "direct", EVERYONE),
    "postal_postcode": ("contact", "direct", EVERYONE),
    "postal_state": ("contact", "direct", EVERYONE),
    "postal_country": ("contact", "direct", EVERYONE),
    "legal_name": ("legal", "approval", EVERYONE),
    "legal_line1": ("legal", "approval", EVERYONE),
    "legal_line2": ("legal", "approval", EVERYONE),
    "legal_city": ("legal", "approval", EVERYONE),
    "legal_postcode": ("legal", "approval", EVERYONE),
    "legal_state": ("legal", "approval", EVERYONE),
    "country": ("legal", "approval", EVERYONE),
    "billing_follows_legal": ("billing", "approval", EVERYONE),
    "billing_name": ("billing", "approval", EVERYONE),
    "billing_line1": ("billing", "approval", EVERYONE),
    "billing_line2": ("billing", "approval", EVERYONE),
    "billing_city": ("billing", "approval", EVERYONE),
    "billing_postcode": ("billing", "approval", EVERYONE),
    "billing_state": ("billing", "approval", EVERYONE),
    "billing_country": ("billing", "approval", EVERYONE),
    "currency": ("preferences", "direct", EVERYONE),
    "timezone": ("preferences", "direct", EVERYONE),
    "language": ("preferences", "direct", EVERYONE),
    "software_level": ("preferences", "direct", EVERYONE),
    "number": ("account", "readonly", EVERYONE),
    "status": ("account", "readonly", EVERYONE),
    "kind": ("account", "staff", EVERYONE),
    "pricing_model": ("account", "staff", MONEY),
    "price_adjustment_percent": ("account", "staff", MONEY),
    "billing_mode": ("account", "readonly", MONEY),
    "credit_limit": ("account", "readonly", MONEY),
}

# Which sections each portal role changes (§4: owner and admin edit the profile; billing
# only the billing sections; technical and member nothing).
ALL_PROFILE_SECTIONS = frozenset(
    {"personal", "business", "einvoice", "contact", "legal", "billing", "preferences"}
)
EDITS_SECTIONS: dict[str, frozenset[str]] = {
    "owner": ALL_PROFILE_SECTIONS,
    "admin": ALL_PROFILE_SECTIONS,
    "billing": frozenset({"einvoice", "billing"}),
    "technical": frozenset(),
    "member": frozenset(),
}

# Which modes each staff group applies (support: direct; billing: staff-mode; manager: direct,
# approval and staff-mode; superuser: all three). Nobody edits verified or read-only fields.
STAFF_APPLIES: dict[str, frozenset[str]] = {
    "support": frozenset({"direct"}),
    "billing": frozenset({"staff"}),
    "manager": frozenset({"direct", "approval", "staff"}),
}

BUSINESS_ONLY = frozenset({"registration_number", "trading_name", "website"})


def active_customer(**fields) -> Customer:
    """An unsaved customer: the policy reads only its status, kind and ledger start."""
    return Customer(status=Customer.Status.ACTIVE, kind=Customer.Kind.BUSINESS, **fields)


def staff_authority(group: str) -> Authority:
    if group == "superuser":
        return Authority(Source.STAFF, is_superuser=True)
    return Authority(Source.STAFF, staff_groups=frozenset({group}))


def test_the_expectation_table_covers_every_field_of_the_policy() -> None:
    """A field added to the policy without a row here fails, so it cannot ship unreviewed."""
    assert set(EXPECTED) == set(policy.FIELDS_BY_NAME)
    assert len(policy.FIELDS) == len(policy.FIELDS_BY_NAME), "field names are unique"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_field_has_the_default_section_and_mode(name) -> None:
    section, mode, _ = EXPECTED[name]
    spec = policy.field(name)
    assert (spec.section.value, spec.mode.value) == (section, mode)
    assert policy.effective_mode(spec) == mode  # no override in the test settings


@pytest.mark.parametrize("role", PORTAL_ROLES)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_portal_role_access_to_each_field(name, role) -> None:
    section, mode, viewers = EXPECTED[name]
    visible = role in viewers
    may_edit_section = section in EDITS_SECTIONS[role]

    access = policy.field_access(policy.field(name), Authority.portal(role), active_customer())

    assert access.mode == mode
    assert access.visible is visible
    assert access.editable is (mode == "direct" and may_edit_section and visible)
    assert access.requestable is (mode == "approval" and may_edit_section and visible)
    assert (access.reason == "") is access.editable, "a refusal always says why"


@pytest.mark.parametrize("group", [*STAFF_APPLIES, "superuser"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_staff_group_access_to_each_field(name, group) -> None:
    _, mode, _ = EXPECTED[name]
    applies = STAFF_APPLIES.get(group, frozenset({"direct", "approval", "staff"}))

    access = policy.field_access(policy.field(name), staff_authority(group), active_customer())

    assert access.visible is True, "staff see every field"
    assert access.editable is (mode in applies)
    assert access.requestable is False, "staff apply changes; they do not request them"
    assert (access.reason == "") is access.editable


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_system_changes_everything_but_verified_and_read_only_fields(name) -> None:
    _, mode, _ = EXPECTED[name]
    access = policy.field_access(policy.field(name), Authority.system(), active_customer())
    assert access.editable is (mode not in ("verified", "readonly"))


@pytest.mark.parametrize("role", PORTAL_ROLES)
def test_sections_each_portal_role_edits(role) -> None:
    customer = active_customer()
    authority = Authority.portal(role)
    editing = {
        section.value for section in Section if policy.editable_names(section, authority, customer)
    }
    requesting = {
        section.value
        for section in Section
        if any(a.requestable for a in policy.section_access(section, authority, customer))
    }
    direct_sections = {"personal", "business", "einvoice", "contact", "preferences"}
    approval_sections = {"business", "legal", "billing"}
    assert editing == EDITS_SECTIONS[role] & direct_sections
    assert requesting == EDITS_SECTIONS[role] & approval_sections


def test_billing_role_edits_e_invoice_and_requests_billing_identity_only() -> None:
    customer = active_customer()
    billing = Authority.portal("billing")
    assert policy.editable_names(Section.EINVOICE, billing, customer) == [
        "tin",
        "sst_number",
        "tourism_tax_number",
        "msic_code",
        "business_activity",
        "einvoice_email",
    ]
    billing_identity = policy.section_access(Section.BILLING, billing, customer)
    assert billing_identity and all(a.requestable and not a.editable for a in billing_identity)
    for section in (Section.PERSONAL, Section.BUSINESS, Section.CONTACT, Section.LEGAL):
        assert policy.editable_names(section, billing, customer) == []
    refused = policy.field_access(policy.field("phone"), billing, customer)
    assert refused.reason == "Your role on this account cannot change this."


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_software_level_is_chosen_by_owner_and_admin(role) -> None:
    access = policy.field_access(
        policy.field("software_level"), Authority.portal(role), active_customer()
    )
    assert access.editable


def test_reasons_tell_the_customer_how_each_kind_of_field_changes() -> None:
    owner, customer = Authority.portal("owner"), active_customer()

    def reason(name: str) -> str:
        return policy.field_access(policy.field(name), owner, customer).reason

    assert reason("legal_name") == "Changes need approval — request a change."
    assert "login ID" in reason("primary_email")
    assert reason("number") == "Maintained by the system."
    assert reason("phone") == ""


@pytest.mark.parametrize("name", ["kind", "pricing_model", "price_adjustment_percent"])
def test_staff_set_fields_tell_the_owner_that_the_provider_sets_them(name) -> None:
    access = policy.field_access(policy.field(name), Authority.portal("owner"), active_customer())
    assert access.reason == "Set by your provider. Contact support to change it."


def test_business_only_fields_are_left_out_for_individuals() -> None:
    business = {f.name for s in Section for f in policy.section_fields(s, "business")}
    individual = {f.name for s in Section for f in policy.section_fields(s, "individual")}
    assert business == set(EXPECTED)
    assert business - individual == BUSINESS_ONLY
    assert Section.BUSINESS not in policy.sections_for("individual")
    assert policy.sections_for("business") == list(Section)


# --- locks and status ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "authority",
    [Authority.portal("owner"), staff_authority("manager"), staff_authority("superuser")],
    ids=["owner", "manager", "superuser"],
)
def test_currency_locks_for_everyone_once_the_ledger_has_started(authority) -> None:
    started = active_customer(first_ledger_entry_at=datetime(2026, 1, 5, tzinfo=UTC))
    locked = policy.field_access(policy.field("currency"), authority, started)
    assert not locked.editable and not locked.requestable
    assert locked.reason == "The currency is fixed once the first ledger entry exists."
    assert policy.field_access(policy.field("currency"), authority, active_customer()).editable
    assert policy.field_access(policy.field("timezone"), authority, started).editable


def test_the_system_cannot_change_a_locked_currency_either() -> None:
    started = active_customer(first_ledger_entry_at=datetime(2026, 1, 5, tzinfo=UTC))
    assert not policy.field_access(policy.field("currency"), Authority.system(), started).editable


@pytest.mark.parametrize("status", [Customer.Status.SUSPENDED, Customer.Status.CLOSED])
@pytest.mark.parametrize("role", PORTAL_ROLES)
def test_customers_change_nothing_while_the_account_is_not_active(role, status) -> None:
    customer = Customer(status=status, kind=Customer.Kind.BUSINESS)
    for spec in policy.FIELDS:
        access = policy.field_access(spec, Authority.portal(role), customer)
        assert not access.editable and not access.requestable, spec.name
        if spec.mode in (policy.Mode.DIRECT, policy.Mode.APPROVAL) and not spec.locks:
            assert access.reason == "The account is not active, so changes are paused."


def test_staff_still_change_a_suspended_account() -> None:
    suspended = Customer(status=Customer.Status.SUSPENDED, kind=Customer.Kind.BUSINESS)
    access = policy.field_access(policy.field("phone"), staff_authority("support"), suspended)
    assert access.editable


@pytest.mark.django_db
def test_a_suspended_customers_owner_cannot_save_the_profile(world) -> None:
    Customer.objects.filter(pk=world.customer_a.pk).update(status=Customer.Status.SUSPENDED)
    owner = Actor(world.users["a_owner"], Source.PORTAL)
    with pytest.raises(DomainError) as caught:
        actions.update_profile_section(
            world.customer_a, section="contact", values={"phone": "03-7890 1234"}, actor=owner
        )
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert "not active" in caught.value.errors["phone"][0]
    assert Customer.objects.get(pk=world.customer_a.pk).phone == ""


# --- who the policy thinks you are --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "groups", "superuser"),
    [
        ("staff_support", {"support"}, False),
        ("staff_billing", {"billing"}, False),
        ("staff_manager", {"manager"}, False),
        ("superuser", set(), True),
    ],
)
def test_staff_authority_comes_from_their_groups(world, persona, groups, superuser) -> None:
    authority = policy.authority_for(Actor(world.users[persona], Source.STAFF), role=None)
    assert authority.is_staff and not authority.is_customer
    assert authority.staff_groups == groups
    assert authority.is_superuser is superuser


def test_portal_and_api_actors_need_their_contact_role() -> None:
    with pytest.raises(ValueError, match="contact role"):
        policy.authority_for(Actor(user=None, source=Source.PORTAL), role=None)
    api = policy.authority_for(Actor(user=None, source=Source.API), role="billing")
    assert api.is_customer and api.role == "billing"
    assert policy.authority_for(Actor.system(), role=None) == Authority.system()


# --- per-deployment overrides -------------------------------------------------------------


@override_settings(CLIENTDESK_FIELD_MODES={"website": "approval"})
def test_a_settings_override_changes_a_fields_mode() -> None:
    access = policy.field_access(
        policy.field("website"), Authority.portal("owner"), active_customer()
    )
    assert access.mode == "approval"
    assert not access.editable and access.requestable
    support = policy.field_access(
        policy.field("website"), staff_authority("support"), active_customer()
    )
    assert not support.editable, "support applies direct fields only"
    manager = policy.field_access(
        policy.field("website"), staff_authority("manager"), active_customer()
    )
    assert manager.editable


@override_settings(CLIENTDESK_FIELD_MODES={"phone": "staff", "credit_limit": "readonly"})
def test_overrides_can_tighten_to_staff_or_read_only() -> None:
    owner, customer = Authority.portal("owner"), active_customer()
    phone = policy.field_access(policy.field("phone"), owner, customer)
    assert not phone.editable and not phone.requestable
    assert phone.reason == "Set by your provider. Contact support to change it."
    assert policy.field_access(policy.field("phone"), staff_authority("billing"), customer).editable
    credit = policy.field_access(policy.field("credit_limit"), staff_authority("manager"), customer)
    assert not credit.editable and credit.reason == "Maintained by the system."


@pytest.mark.django_db
@override_settings(CLIENTDESK_FIELD_MODES={"website": "approval"})
def test_an_overridden_field_is_refused_by_the_action_too(world) -> None:
    owner = Actor(world.users["a_owner"], Source.PORTAL)
    with pytest.raises(DomainError) as caught:
        actions.update_profile_section(
            world.customer_a, section="business", values={"website": "alpha.example"}, actor=owner
        )
    assert caught.value.code == ErrorCode.NOT_ALLOWED
    assert Customer.objects.get(pk=world.customer_a.pk).website == ""


@override_settings(CLIENTDESK_FIELD_MODES={"website": "approval", "kind": "readonly"})
def test_the_system_check_accepts_valid_overrides() -> None:
    assert check_field_mode_overrides() == []


@pytest.mark.parametrize(
    ("overrides", "error_id", "words"),
    [
        ({"webiste": "approval"}, "customers.E001", "unknown field 'webiste'"),
        ({"website": "sometimes"}, "customers.E002", "'sometimes'; use one of"),
        ({"website": "verified"}, "customers.E002", "use one of approval, direct"),
        ({"primary_email": "direct"}, "customers.E003", "cannot be overridden"),
        ({"number": "direct"}, "customers.E003", "cannot be overridden"),
        ({"status": "staff"}, "customers.E003", "cannot be overridden"),
    ],
)
def test_the_system_check_reports_unknown_fields_and_modes(overrides, error_id, words) -> None:
    with override_settings(CLIENTDESK_FIELD_MODES=overrides):
        errors = check_field_mode_overrides()
    assert [error.id for error in errors] == [error_id]
    assert words in errors[0].msg


def test_the_system_check_reports_every_bad_override_at_once() -> None:
    overrides = {"nope": "direct", "phone": "maybe", "website": "approval"}
    with override_settings(CLIENTDESK_FIELD_MODES=overrides):
        assert [e.id for e in check_field_mode_overrides()] == ["customers.E001", "customers.E002"]


def test_the_check_is_registered_with_django() -> None:
    from django.core import checks

    with override_settings(CLIENTDESK_FIELD_MODES={"nope": "direct"}):
        found = checks.run_checks()
    assert "customers.E001" in {message.id for message in found}
