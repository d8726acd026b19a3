"""The staff console's "Import customers" pages (staff/customer_import.py): managers only;
upload → check (problems by line and column, or a preview) → import → result; the upload is
checked again on import, a second submit imports nothing, and a file over the limit gets a
message, not a 500."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import resolve, reverse

from clientdesk.audit.models import Activity
from clientdesk.customers.imports import COLUMN_NAMES, IMPORT_VERB
from clientdesk.customers.models import Customer
from clientdesk.staff import customer_import
from tests.conftest import World

pytestmark = pytest.mark.django_db

IMPORT = "/staff/customers/import/"
RUN = "/staff/customers/import/run/"
RESULT = "/staff/customers/import/result/"
TEMPLATE = "/staff/customers/import/template.csv"


def client_for(world: World, persona: str) -> Client:
    client = Client()
    user = world.persona(persona)
    if user is not None:
        client.force_login(user)
    return client


def row(n: int, **values: str) -> dict[str, str]:
    return {
        "name": f"Kedai Import {n} Sdn Bhd",
        "country": "MY",
        "tin": f"C77700{n:05d}",
        "owner_first_name": "Siti",
        "owner_last_name": "Aminah",
        "owner_email": f"siti{n}@kedai.example",
    } | values


def upload(rows: list[dict[str, str]], name: str = "customers.csv") -> SimpleUploadedFile:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    for values in rows:
        writer.writerow([values.get(column, "") for column in COLUMN_NAMES])
    return SimpleUploadedFile(name, out.getvalue().encode(), content_type="text/csv")


def text(response: Any) -> str:
    return response.content.decode()


def imported() -> int:
    return Customer.objects.filter(display_name__startswith="Kedai Import").count()


def token_of(response: Any) -> str:
    match = re.search(r'name="token" value="([^"]+)"', text(response))
    assert match, "the check page carries the import token"
    return match.group(1)


def stored_uploads() -> list[str]:
    try:
        return default_storage.listdir(customer_import.FOLDER)[1]
    except FileNotFoundError:
        return []


@pytest.fixture(autouse=True)
def _no_stored_uploads() -> None:
    """The test storage lives as long as the process: start each test without uploads."""
    for name in stored_uploads():
        default_storage.delete(f"{customer_import.FOLDER}/{name}")


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("a_owner", 404),
        ("staff_support", 403),
        ("staff_billing", 403),
        ("staff_manager", 200),
        ("superuser", 200),
    ],
)
def test_only_managers_see_the_import_page(world: World, persona: str, status: int) -> None:
    client = client_for(world, persona)
    assert client.get(IMPORT).status_code == status
    assert client.get(TEMPLATE).status_code == status
    response = client.post(IMPORT, {"file": upload([row(1)])})
    assert response.status_code == status
    assert imported() == 0


def test_the_routes_are_not_taken_by_the_customer_page() -> None:
    assert resolve(IMPORT).url_name == "customer-import"
    assert resolve(RUN).url_name == "customer-import-run"
    assert reverse("staff:customer-import-template") == TEMPLATE


def test_the_customers_list_links_to_the_import_for_managers_only(world: World) -> None:
    link = f'href="{IMPORT}"'
    assert link in text(client_for(world, "staff_manager").get("/staff/customers/"))
    assert link not in text(client_for(world, "staff_support").get("/staff/customers/"))


def test_the_page_explains_the_file(world: World) -> None:
    page = text(client_for(world, "staff_manager").get(IMPORT))
    assert '<label for="id_file">CSV file' in page
    assert "Up to 64 MB and 50,000 customers." in page
    for name in COLUMN_NAMES:
        assert f'<th scope="row" class="mono">{name}</th>' in page
    assert f'href="{TEMPLATE}"' in page


def test_the_template_csv_downloads(world: World) -> None:
    response = client_for(world, "staff_manager").get(TEMPLATE)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(COLUMN_NAMES)
    assert len(lines) == 3


# --- check --------------------------------------------------------------------------------


def test_a_good_file_is_previewed_and_nothing_is_written_yet(world: World) -> None:
    client = client_for(world, "staff_manager")
    response = client.post(IMPORT, {"file": upload([row(1), row(2)])})
    assert response.status_code == 200
    page = text(response)
    assert "2 customers ready to import" in page
    assert '<th scope="row">Kedai Import 1 Sdn Bhd</th>' in page
    assert "siti2@kedai.example" in page
    assert "data-submit-once" in page
    assert "Import 2 customers" in page
    assert imported() == 0
    assert len(stored_uploads()) == 1


def test_problems_are_listed_by_line_and_column(world: World) -> None:
    client = client_for(world, "staff_manager")
    bad = upload([row(1), row(2, owner_email="not-an-email"), row(3, country="ZZ")])
    response = client.post(IMPORT, {"file": bad})
    assert response.status_code == 400
    page = text(response)
    assert "2 problems in customers.csv: nothing was imported" in page
    assert 'data-label="Line" class="nowrap">3</td>' in page
    assert '<td data-label="Column" class="mono">owner_email</td>' in page
    assert "Enter a valid email address. (“not-an-email”)" in page
    assert 'data-label="Line" class="nowrap">4</td>' in page
    assert "Not a country code" in page
    assert "Check the corrected file" in page
    assert imported() == 0
    assert stored_uploads() == []


def test_a_file_over_the_limit_gets_a_message_not_a_500(world: World) -> None:
    client = client_for(world, "staff_manager")
    with override_settings(CLIENTDESK_IMPORT_MAX_BYTES=100):
        page = text(client.get(IMPORT))
        assert "Up to 100 bytes" in page
        response = client.post(IMPORT, {"file": upload([row(1), row(2)])})
    assert response.status_code == 400
    assert "the limit is 100 bytes. Split it into smaller files." in text(response)
    assert 'id="id_file_error"' in text(response)
    assert imported() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the CSV file to import."),
        ({"file": SimpleUploadedFile("c.xlsx", b"PK\x03\x04")}, "Choose a .csv file"),
        ({"file": SimpleUploadedFile("c.csv", b"")}, "The submitted file is empty."),
        ({"file": SimpleUploadedFile("c.csv", "Nämé\n".encode("latin-1"))}, "not UTF-8"),
        ({"file": SimpleUploadedFile("c.csv", b"\x00\x01\x02,\xff")}, "not UTF-8"),
        ({"file": SimpleUploadedFile("c.csv", b"a,b\n1,2\n")}, "Unknown column"),
    ],
)
def test_bad_uploads_get_a_message(world: World, data: dict[str, Any], message: str) -> None:
    response = client_for(world, "staff_manager").post(IMPORT, data)
    assert response.status_code == 400
    assert message in text(response)
    assert imported() == 0


# --- import -------------------------------------------------------------------------------


def test_import_then_the_result(world: World) -> None:
    client = client_for(world, "staff_manager")
    token = token_of(client.post(IMPORT, {"file": upload([row(1), row(2)])}))
    response = client.post(RUN, {"token": token})
    assert response.status_code == 302
    assert response["Location"].startswith(RESULT)
    assert imported() == 2
    assert stored_uploads() == []
    page = text(client.get(response["Location"]))
    assert "Imported 2 customers from customers.csv" in page
    first = Customer.objects.filter(display_name="Kedai Import 1 Sdn Bhd").get()
    assert first.client_id in page
    assert 'href="/staff/customers/"' in page
    summary = Activity.objects.get(verb=IMPORT_VERB)
    assert summary.actor == world.users["staff_manager"]
    assert summary.source == "staff"
    assert summary.changes["file"] == [None, "customers.csv"]


def test_a_second_submit_imports_nothing(world: World) -> None:
    client = client_for(world, "staff_manager")
    token = token_of(client.post(IMPORT, {"file": upload([row(1), row(2)])}))
    assert client.post(RUN, {"token": token}).status_code == 302
    again = client.post(RUN, {"token": token}, follow=True)
    assert "This file was already imported, or is being imported now" in text(again)
    assert imported() == 2
    assert Activity.objects.filter(verb=IMPORT_VERB).count() == 1


def test_without_the_cache_the_import_still_refuses_the_same_rows_twice(world: World) -> None:
    """The token is only the first guard: the import checks the file again, and every
    owner email is then on a customer already."""
    client = client_for(world, "staff_manager")
    first = token_of(client.post(IMPORT, {"file": upload([row(1), row(2)])}))
    second = token_of(client.post(IMPORT, {"file": upload([row(1), row(2)])}))
    assert client.post(RUN, {"token": first}).status_code == 302
    cache.clear()
    response = client.post(RUN, {"token": second})
    assert response.status_code == 400
    assert "already has a contact with this email" in text(response)
    assert imported() == 2


def test_a_token_is_good_only_for_its_manager_and_unchanged(world: World) -> None:
    manager = client_for(world, "staff_manager")
    token = token_of(manager.post(IMPORT, {"file": upload([row(1)])}))
    other = client_for(world, "superuser")
    response = other.post(RUN, {"token": token}, follow=True)
    assert "cannot be started from here" in text(response)
    forged = manager.post(RUN, {"token": token[:-3] + "abc"}, follow=True)
    assert "cannot be started from here" in text(forged)
    assert manager.post(RUN, {"token": "x" * 50_000}).status_code == 302
    assert imported() == 0
    # The stored file changed behind the token's back: refused too.
    name = default_storage.listdir(customer_import.FOLDER)[1][0]
    default_storage.delete(f"{customer_import.FOLDER}/{name}")
    default_storage.save(f"{customer_import.FOLDER}/{name}", io.BytesIO(upload([row(9)]).read()))
    response = manager.post(RUN, {"token": token}, follow=True)
    assert "changed since it was checked" in text(response)
    assert imported() == 0


def test_the_run_and_result_routes_need_a_post_and_a_result(world: World) -> None:
    client = client_for(world, "staff_manager")
    assert client.get(RUN).status_code == 405
    response = client.get(RESULT)
    assert response.status_code == 302
    assert response["Location"] == IMPORT
    assert client.get(RESULT + "?r=forged").status_code == 302
    assert client_for(world, "staff_support").post(RUN, {"token": "x"}).status_code == 403


def test_old_abandoned_uploads_are_removed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(world, "staff_manager")
    client.post(IMPORT, {"file": upload([row(1)])})
    assert len(stored_uploads()) == 1
    monkeypatch.setattr(customer_import, "STALE_AFTER", customer_import.timedelta(seconds=-1))
    client.post(IMPORT, {"file": upload([row(2)])})
    assert len(stored_uploads()) == 1  # the old one went, the new one is kept


def test_the_page_takes_fewer_rows_than_the_command(world: Any, settings: Any) -> None:
    """The page imports inside the request: a file over its limit is refused there with the
    command named, while the command takes it."""
    from clientdesk.core.actor import Actor, Source
    from clientdesk.customers import imports

    settings.CLIENTDESK_IMPORT_WEB_MAX_ROWS = 2
    header = "kind,name,country,owner_first_name,owner_last_name,owner_email\n"
    rows = "".join(
        f"business,Limit Test {n} Sdn Bhd,MY,Aina,Rahman,aina{n}@limit.example\n" for n in range(3)
    )
    client = Client()
    client.force_login(world.users["staff_manager"])
    page = client.get(reverse("staff:customer-import"))
    assert "import_customers" in page.content.decode()
    upload = SimpleUploadedFile("three.csv", (header + rows).encode(), content_type="text/csv")
    answer = client.post(reverse("staff:customer-import"), {"file": upload})
    assert "more than 2 rows" in answer.content.decode()
    result = imports.import_customers(
        actor=Actor(world.users["staff_manager"], Source.STAFF),
        source=io.StringIO(header + rows),
        dry_run=True,
    )
    assert result.ok, result.problems
