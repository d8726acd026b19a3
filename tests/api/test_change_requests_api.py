"""API v1 change requests: list, read with the thread, submit, comment, cancel, decide."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clientdesk.audit.models import Activity
from clientdesk.change_requests import actions
from clientdesk.change_requests.models import ChangeRequest, Kind, Status
from clientdesk.core.actor import Actor, Source
from clientdesk.customers.actions import update_profile_section
from clientdesk.customers.models import Customer
from clientdesk.events.models import Event

from .conftest import ApiClient, customer_token, staff_token

pytestmark = pytest.mark.django_db

REGISTRATION = {"registration_number": "202001012345"}
NEW_LEGAL = {
    "legal_name": "Alpha Trading Berhad",
    "legal_line1": "Level 5, Menara Alpha",
    "legal_city": "Kuala Lumpur",
    "legal_postcode": "50250",
    "legal_state": "Wilayah Persekutuan Kuala Lumpur",
}


def base(customer: Customer) -> str:
    return f"/api/v1/customers/{customer.client_id}/change-requests"


def prefix(api: ApiClient) -> str:
    assert api.token is not None
    return api.token[:12]


def submit(api: ApiClient, world: Any, headers: dict[str, str] | None = None, **body: Any) -> Any:
    payload = {"kind": "business", "values": REGISTRATION, "note": "New SSM number"} | body
    return api.post(base(world.customer_a), payload, headers=headers)


def raised(world: Any, kind: str = "business", values: dict[str, Any] | None = None) -> Any:
    """A request made in the portal by customer A's owner."""
    return actions.submit_change_request(
        world.customer_a,
        kind=kind,
        values=values or REGISTRATION,
        actor=Actor(world.users["a_owner"], Source.PORTAL),
    )


def give_legal_address(world: Any) -> None:
    update_profile_section(
        world.customer_a,
        section="legal",
        values={k: v for k, v in NEW_LEGAL.items() if k != "legal_name"} | {"legal_city": "Ipoh"},
        actor=Actor(world.users["superuser"], Source.STAFF),
        reason="Onboarding",
    )


# --- submit, list, read ------------------------------------------------------------------------


def test_a_customer_key_submits_and_the_trail_names_the_key(world: Any, a_owner_api: Any) -> None:
    response = submit(a_owner_api, world, headers={"Idempotency-Key": "cr-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    change = ChangeRequest.objects.get()
    assert body["id"] == change.reference and body["status"] == "open"
    assert body["requested"] == REGISTRATION
    assert body["current"] == {"registration_number": ""}
    assert body["submitted_source"] == "api"
    assert body["messages"] == [] and body["section_etag"] is None  # staff-only extras
    assert response["Location"] == body["url"]
    assert response["ETag"]
    assert Customer.objects.get(pk=world.customer_a.pk).registration_number == ""  # asked only
    activity = Activity.objects.get(verb="change_request.submitted")
    assert activity.source == "api"
    assert prefix(a_owner_api) in activity.actor_label
    event = Event.objects.get(type="change_request.submitted")
    assert event.actor["source"] == "api" and event.actor["api_key"] == prefix(a_owner_api)


def submit_with(api: ApiClient, world: Any, key: str, **body: Any) -> Any:
    payload = {"kind": "business", "values": REGISTRATION, "note": "New SSM number"} | body
    return api.post(base(world.customer_a), payload, headers={"Idempotency-Key": key})


def test_submitting_again_with_the_same_key_replays(world: Any, a_owner_api: Any) -> None:
    first = submit_with(a_owner_api, world, "same")
    again = submit_with(a_owner_api, world, "same")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert ChangeRequest.objects.count() == 1
    other = submit_with(a_owner_api, world, "same", note="Another note")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    # Without the key a second submit is refused: one open request per section.
    conflict = submit(a_owner_api, world)
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    assert ChangeRequest.objects.count() == 1


def test_bad_submissions_change_nothing(world: Any, a_owner_api: Any) -> None:
    cases = [
        ({"kind": "business", "values": REGISTRATION, "status": "approved"}, 400),  # forged
        ({"kind": "nonsense", "values": REGISTRATION}, 400),
        ({"kind": "business", "values": {"credit_limit": "9999"}}, 403),  # not requestable
        ({"kind": "business", "values": {"registration_number": "x" * 5000}}, 400),
        ({"kind": "business", "values": {"registration_number": ""}}, 400),  # nothing asked
        ({"kind": "business", "values": REGISTRATION, "note": "n" * 6000}, 400),
    ]
    for payload, status in cases:
        response = a_owner_api.post(base(world.customer_a), payload)
        assert response.status_code == status, (payload, response.content)
        assert response["Content-Type"] == "application/problem+json"
    assert not ChangeRequest.objects.exists()
    assert not Event.objects.filter(type__startswith="change_request.").exists()


def test_list_filters_and_pages(world: Any, a_owner_api: Any) -> None:
    first = raised(world)
    actions.cancel_change_request(first, actor=Actor(world.users["a_owner"], Source.PORTAL))
    second = raised(world, values={"registration_number": "202001099999"})
    page = a_owner_api.get(base(world.customer_a), limit=1)
    assert page.status_code == 200
    body = page.json()
    assert [item["id"] for item in body["items"]] == [second.reference]  # newest first
    assert body["next_cursor"]
    older = a_owner_api.get(base(world.customer_a), limit=1, cursor=body["next_cursor"]).json()
    assert [item["id"] for item in older["items"]] == [first.reference]
    assert older["next_cursor"] is None
    opened = a_owner_api.get(base(world.customer_a), status="open").json()
    assert [item["id"] for item in opened["items"]] == [second.reference]
    cancelled = a_owner_api.get(base(world.customer_a), status="cancelled").json()
    assert [item["id"] for item in cancelled["items"]] == [first.reference]
    assert a_owner_api.get(base(world.customer_a), kind="legal").json()["items"] == []
    for bad in ({"cursor": "abc"}, {"cursor": "9" * 20}, {"limit": 1000}, {"status": "x"}):
        assert a_owner_api.get(base(world.customer_a), **bad).status_code == 400, bad


def test_the_list_costs_the_same_for_more_requests(world: Any, manager_api: Any) -> None:
    owner = Actor(world.users["a_owner"], Source.PORTAL)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert manager_api.get(base(world.customer_a)).status_code == 200
        return len(queries)

    actions.cancel_change_request(raised(world), actor=owner)
    count()  # the key's first use records when it was used
    few = count()
    for n in range(5):
        actions.cancel_change_request(
            raised(world, values={"registration_number": f"20200101000{n}"}), actor=owner
        )
    assert count() == few


def test_reading_one_request_by_reference(world: Any, a_owner_api: Any) -> None:
    change = raised(world)
    for reference in (change.reference, change.reference.lower(), str(change.number)):
        response = a_owner_api.get(f"{base(world.customer_a)}/{reference}")
        assert response.status_code == 200, reference
        assert response.json()["id"] == change.reference
    for reference in ("CR-999999", "nonsense", "CR-" + "9" * 30, "0"):
        response = a_owner_api.get(f"{base(world.customer_a)}/{reference}")
        assert response.status_code == 404, reference


def test_a_customer_key_sees_what_the_portal_shows_its_role(world: Any) -> None:
    email = raised(world, kind="primary_email", values={"primary_email": "new.owner@example.org"})
    business = raised(world)
    admin_api = ApiClient(customer_token(world.users["a_admin"], world.customer_a))
    listed = admin_api.get(base(world.customer_a)).json()["items"]
    assert [item["id"] for item in listed] == [business.reference]  # only the owner sees emails
    hidden = admin_api.get(f"{base(world.customer_a)}/{email.reference}")
    assert hidden.status_code == 404
    cancel = admin_api.post(f"{base(world.customer_a)}/{email.reference}/cancel")
    assert cancel.status_code == 404
    owner_api = ApiClient(customer_token(world.users["a_owner"], world.customer_a))
    assert owner_api.get(f"{base(world.customer_a)}/{email.reference}").status_code == 200


# --- the thread --------------------------------------------------------------------------------


def test_staff_ask_and_the_customer_answers(world: Any, a_owner_api: Any, manager_api: Any) -> None:
    change = raised(world)
    url = f"{base(world.customer_a)}/{change.reference}/messages"
    asked = manager_api.post(
        url, {"message": "Please send the SSM form."}, headers={"Idempotency-Key": "q1"}
    )
    assert asked.status_code == 201, asked.content
    assert asked.json()["change_request"]["status"] == "awaiting_customer"
    replay = manager_api.post(
        url, {"message": "Please send the SSM form."}, headers={"Idempotency-Key": "q1"}
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert change.messages.count() == 1
    # The customer reads the question as the provider's, not the staff member's name.
    seen = a_owner_api.get(f"{base(world.customer_a)}/{change.reference}").json()
    assert seen["status"] == "awaiting_customer"
    assert [(m["author"], m["from_staff"]) for m in seen["messages"]] == [
        (settings.SITE_NAME, True)
    ]
    manager_name = str(world.users["staff_manager"])
    staff_view = manager_api.get(f"{base(world.customer_a)}/{change.reference}").json()
    assert manager_name in staff_view["messages"][0]["author"]
    answered = a_owner_api.post(url, {"message": "Sent by post."})
    assert answered.status_code == 201
    assert answered.json()["change_request"]["status"] == "open"
    assert answered.json()["message"]["from_staff"] is False
    activity = Activity.objects.filter(verb="change_request.commented").order_by("id")
    assert [a.source for a in activity] == ["api", "api"]
    assert prefix(a_owner_api) in activity.last().actor_label  # type: ignore[union-attr]
    assert Event.objects.filter(type="change_request.commented").count() == 2


def test_comments_need_text_and_an_open_request(world: Any, a_owner_api: Any) -> None:
    change = raised(world)
    url = f"{base(world.customer_a)}/{change.reference}/messages"
    assert a_owner_api.post(url, {"message": "   "}).status_code == 400
    assert a_owner_api.post(url, {}).status_code == 400
    assert a_owner_api.post(url, {"message": "x" * 5001}).status_code == 400
    cancelled = a_owner_api.post(f"{base(world.customer_a)}/{change.reference}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = a_owner_api.post(f"{base(world.customer_a)}/{change.reference}/cancel")
    assert again.status_code == 200  # cancelling twice changes nothing
    late = a_owner_api.post(url, {"message": "Hello?"})
    assert late.status_code == 409 and late.json()["code"] == "conflict"
    assert Activity.objects.filter(verb="change_request.cancelled", source="api").count() == 1


# --- decisions ---------------------------------------------------------------------------------


def test_a_manager_approves_through_the_api(world: Any, manager_api: Any) -> None:
    change = raised(world)
    url = f"{base(world.customer_a)}/{change.reference}/approve"
    response = manager_api.post(url, {"reason": ""})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    assert response.json()["approved_fields"] == ["registration_number"]
    assert Customer.objects.get(pk=world.customer_a.pk).registration_number == "202001012345"
    activity = Activity.objects.get(verb="change_request.approved")
    assert activity.source == "api" and prefix(manager_api) in activity.actor_label
    assert Event.objects.filter(type="change_request.approved").count() == 1
    assert manager_api.post(url, {}).status_code == 200  # approving twice changes nothing
    rejected = manager_api.post(
        f"{base(world.customer_a)}/{change.reference}/reject", {"reason": "x"}
    )
    assert rejected.status_code == 409


def test_part_approval_needs_a_reason(world: Any, manager_api: Any) -> None:
    give_legal_address(world)
    change = raised(world, kind="legal", values=NEW_LEGAL)
    url = f"{base(world.customer_a)}/{change.reference}/approve"
    refused = manager_api.post(url, {"fields": ["legal_name"]})
    assert refused.status_code == 400 and "reason" in refused.json()["errors"]
    unknown = manager_api.post(url, {"fields": ["credit_limit"], "reason": "x"})
    assert unknown.status_code == 400
    done = manager_api.post(url, {"fields": ["legal_name"], "reason": "Address needs proof."})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["status"] == "partly_approved"
    assert body["approved_fields"] == ["legal_name"]
    assert body["rejected_fields"] == ["legal_city"]  # the other fields were unchanged
    customer = Customer.objects.get(pk=world.customer_a.pk)
    assert customer.legal_name == "Alpha Trading Berhad" and customer.legal_city == "Ipoh"


def test_a_moved_section_must_be_reviewed_before_approval(world: Any, manager_api: Any) -> None:
    give_legal_address(world)
    change = raised(world, kind="legal", values={"legal_name": "Alpha Trading Berhad"})
    update_profile_section(
        world.customer_a,
        section="legal",
        values={"legal_city": "Shah Alam"},
        actor=Actor(world.users["superuser"], Source.STAFF),
        reason="Phone call",
    )
    detail = manager_api.get(f"{base(world.customer_a)}/{change.reference}").json()
    assert detail["moved_fields"] == ["legal_city"]
    assert detail["section_now"]["legal_city"] == "Shah Alam"
    url = f"{base(world.customer_a)}/{change.reference}/approve"
    stale = manager_api.post(url, {})
    assert stale.status_code == 409 and stale.json()["code"] == "stale_version"
    assert manager_api.post(url, {"reviewed_etag": "0" * 16}).status_code == 409
    done = manager_api.post(url, {"reviewed_etag": detail["section_etag"]})
    assert done.status_code == 200 and done.json()["status"] == "approved"


def test_only_managers_decide(world: Any, a_owner_api: Any, support_api: Any) -> None:
    change = raised(world)
    approve = f"{base(world.customer_a)}/{change.reference}/approve"
    reject = f"{base(world.customer_a)}/{change.reference}/reject"
    # A customer key cannot hold the scope; a support key holds it but not the role.
    assert a_owner_api.post(approve, {}).status_code == 403
    assert a_owner_api.post(reject, {"reason": "no"}).status_code == 403
    assert support_api.post(approve, {}).status_code == 403
    assert support_api.post(reject, {"reason": "no"}).status_code == 403
    change.refresh_from_db()
    assert change.status == Status.OPEN


def test_a_manager_rejects_with_a_reason(world: Any, manager_api: Any, a_owner_api: Any) -> None:
    change = raised(world)
    url = f"{base(world.customer_a)}/{change.reference}/reject"
    assert manager_api.post(url, {"reason": "  "}).status_code == 400
    assert manager_api.post(url, {}).status_code == 400
    done = manager_api.post(url, {"reason": "The number does not match SSM."})
    assert done.status_code == 200 and done.json()["status"] == "rejected"
    seen = a_owner_api.get(f"{base(world.customer_a)}/{change.reference}").json()
    assert seen["decision_reason"] == "The number does not match SSM."
    assert seen["decided_by"] == settings.SITE_NAME  # staff are the provider to customers
    assert Activity.objects.get(verb="change_request.rejected").source == "api"
    assert Event.objects.filter(type="change_request.rejected").count() == 1


def test_billing_staff_cannot_withdraw_a_request(world: Any) -> None:
    change = raised(world)
    billing_api = ApiClient(staff_token(world.users["staff_billing"]))
    url = f"{base(world.customer_a)}/{change.reference}/cancel"
    assert billing_api.post(url).status_code == 403
    support_api = ApiClient(staff_token(world.users["staff_support"]))
    assert support_api.post(url).status_code == 200


# --- who may do what ---------------------------------------------------------------------------


def every_route(world: Any, reference: str) -> list[tuple[str, str, Any]]:
    one = f"{base(world.customer_a)}/{reference}"
    return [
        ("get", base(world.customer_a), None),
        ("post", base(world.customer_a), {"kind": "business", "values": REGISTRATION}),
        ("get", one, None),
        ("post", f"{one}/messages", {"message": "Hello"}),
        ("post", f"{one}/cancel", None),
        ("post", f"{one}/approve", {}),
        ("post", f"{one}/reject", {"reason": "No"}),
    ]


def call(api: ApiClient, method: str, url: str, body: Any) -> Any:
    return api.get(url) if method == "get" else api.post(url, body)


def test_another_customers_key_finds_nothing(world: Any) -> None:
    change = raised(world)
    b_api = ApiClient(customer_token(world.users["b_owner"], world.customer_b))
    only_b = ApiClient(staff_token(world.users["staff_manager"], customers=[world.customer_b]))
    for api in (b_api, only_b):
        for method, url, body in every_route(world, change.reference):
            response = call(api, method, url, body)
            assert response.status_code == 404, (method, url, response.content)
            assert response.json()["code"] == "not_found"
    change.refresh_from_db()
    assert change.status == Status.OPEN and not change.messages.exists()


def test_a_missing_scope_is_403(world: Any) -> None:
    change = raised(world)
    reader = ApiClient(customer_token(world.users["a_owner"], world.customer_a, ["customers:read"]))
    for method, url, body in every_route(world, change.reference):
        response = call(reader, method, url, body)
        assert response.status_code == 403, (method, url)
        assert response.json()["code"] == "not_allowed"
    no_decide = ApiClient(
        staff_token(world.users["staff_manager"], scopes=["change_requests:read"])
    )
    response = no_decide.post(f"{base(world.customer_a)}/{change.reference}/approve", {})
    assert response.status_code == 403 and "change_requests:decide" in response.json()["detail"]
    assert ChangeRequest.objects.get().status == Status.OPEN


def test_without_a_key_every_route_is_401(world: Any) -> None:
    change = raised(world)
    anonymous = ApiClient(None)
    for method, url, body in every_route(world, change.reference):
        assert call(anonymous, method, url, body).status_code == 401


def test_staff_ask_on_the_customers_behalf(world: Any, support_api: Any, a_owner_api: Any) -> None:
    response = support_api.post(
        base(world.customer_a), {"kind": Kind.BUSINESS.value, "values": REGISTRATION}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["submitted_source"] == "api"
    assert prefix(support_api) in body["submitted_by"]
    # The customer reads it as asked by the provider, never a staff member's name.
    seen = a_owner_api.get(f"{base(world.customer_a)}/{body['id']}").json()
    assert seen["submitted_by"] == settings.SITE_NAME


def test_a_manager_never_approves_a_request_they_raised(world: Any) -> None:
    raiser = ApiClient(staff_token(world.users["staff_manager"]))
    created = raiser.post(base(world.customer_a), {"kind": "business", "values": REGISTRATION})
    assert created.status_code == 201
    url = f"{base(world.customer_a)}/{created.json()['id']}/approve"
    # Another key of the same manager is still the same person.
    same_person = ApiClient(staff_token(world.users["staff_manager"]))
    refused = same_person.post(url, {})
    assert refused.status_code == 403 and "another manager" in refused.json()["detail"]
    assert Customer.objects.get(pk=world.customer_a.pk).registration_number == ""
    other_manager = ApiClient(staff_token(world.users["superuser"]))
    assert other_manager.post(url, {}).status_code == 200
