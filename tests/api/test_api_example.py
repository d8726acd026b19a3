"""scripts/api_example.py against a live server: a program using only the HTTP API opens a
customer, adds a contact with portal access and submits a change request (issue 9, "done
when"). Run twice with the same run id, it creates nothing twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from clientdesk.audit.models import Activity
from clientdesk.change_requests.models import ChangeRequest
from clientdesk.customers.models import Contact, Customer, Invitation
from clientdesk.events.models import Event

from .conftest import staff_token

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "api_example.py"

pytestmark = pytest.mark.django_db(transaction=True)


def run_script(live_server: Any, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env={"CLIENTDESK_API_URL": live_server.url, "CLIENTDESK_API_TOKEN": token, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_example_script_does_it_all_through_the_api(world: Any, live_server: Any) -> None:
    token = staff_token(world.users["staff_support"])
    done = run_script(live_server, token, "--run-id", "test0001", "--name", "Omega Sdn Bhd")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    customer = Customer.objects.get(display_name="Omega Sdn Bhd")
    assert result["customer"] == customer.client_id
    owner = Contact.objects.get(customer=customer, role="owner")
    assert owner.email == "owner-test0001@example.com"
    contact = Contact.objects.get(pk=result["contact"], customer=customer)
    assert contact.email == "billing-test0001@example.com"
    assert contact.portal_access is True
    assert contact.job_title == "Accounts payable"
    assert Invitation.objects.filter(contact=contact, status="pending").count() == 1
    change = ChangeRequest.objects.get(customer=customer)
    assert change.reference == result["change_request"]
    assert change.kind == "legal"
    assert change.status == "open"
    assert change.requested["legal_name"] == "Omega Sdn Bhd (registered)"
    assert change.submitted_source == "api"
    assert customer.legal_name != "Omega Sdn Bhd (registered)"  # waits for a manager

    trail = Activity.objects.filter(customer=customer)
    assert trail.exists()
    assert set(trail.values_list("source", flat=True)) == {"api"}
    events = Event.objects.filter(customer=customer)
    assert {event.actor["source"] for event in events} == {"api"}

    # The same run again (a retry after a lost answer): replayed, nothing doubled.
    counts = (
        Customer.objects.count(),
        Contact.objects.count(),
        ChangeRequest.objects.count(),
        Event.objects.count(),
    )
    again = run_script(live_server, token, "--run-id", "test0001", "--name", "Omega Sdn Bhd")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.strip().splitlines()[-1])["customer"] == customer.client_id
    # Only the If-Match update may act again, and it finds nothing to change.
    assert (
        Customer.objects.count(),
        Contact.objects.count(),
        ChangeRequest.objects.count(),
    ) == counts[:3]


def test_the_script_reports_a_refusal_as_problem_details(world: Any, live_server: Any) -> None:
    """A customer's own key may not open accounts: the script prints the code and stops."""
    from .conftest import customer_token

    token = customer_token(world.users["a_owner"], world.customer_a)
    done = run_script(live_server, token, "--run-id", "test0002")
    assert done.returncode == 1
    assert "HTTP 403 not_allowed" in done.stderr
    assert not Customer.objects.filter(display_name="Example Trading Sdn Bhd").exists()


def test_the_script_needs_a_url_and_a_token(live_server: Any) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={"PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--base-url and --token" in done.stderr
