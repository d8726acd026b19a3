"""The library's actions: levels in order, ranges that cannot turn around, files on an
allow-list, and every change in Activity and the outbox."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.events.models import Event
from clientdesk.resources import actions, visibility
from clientdesk.resources.models import Resource, ResourceDownload
from tests import factories as base

from . import factories

pytestmark = pytest.mark.django_db


def staff(user: object) -> Actor:
    return Actor(user=user, source=Source.STAFF)


def test_levels_are_added_in_order_and_labels_are_unique_case_insensitively() -> None:
    lv = factories.levels("4.0", "5.0")
    assert [lv["4.0"].position, lv["5.0"].position] == [1, 2]
    with pytest.raises(DomainError) as refused:
        actions.add_level(label=" 5.0 ", actor=Actor.system())
    assert refused.value.field == "label"
    with pytest.raises(DomainError):
        actions.add_level(label="4.0\u202e", actor=Actor.system())
    assert Event.objects.filter(type="software_level.added").count() == 2
    assert Activity.objects.filter(verb="software_level.added").count() == 2


def test_only_managers_keep_levels_and_support_writes_resources(world: object) -> None:
    support, manager = world.users["staff_support"], world.users["staff_manager"]  # type: ignore[attr-defined]
    billing = world.users["staff_billing"]  # type: ignore[attr-defined]
    with pytest.raises(DomainError) as refused:
        actions.add_level(label="9.9", actor=staff(support))
    assert refused.value.code == ErrorCode.NOT_ALLOWED
    level = actions.add_level(label="9.9", actor=staff(manager))
    item = actions.create_resource(kind="article", title="How to", actor=staff(support))
    with pytest.raises(DomainError):
        actions.create_resource(kind="article", title="No", actor=staff(billing))
    owner = world.users["a_owner"]  # type: ignore[attr-defined]
    with pytest.raises(DomainError):
        actions.publish_resource(item, version=None, actor=Actor(user=owner, source=Source.PORTAL))
    assert level.is_active


def test_retiring_a_level_keeps_customers_that_have_it() -> None:
    lv = factories.levels("4.0", "5.0")
    customer = base.make_customer("Retired Co")
    Customer.objects.filter(pk=customer.pk).update(software_level=lv["4.0"])
    actions.change_level(
        lv["4.0"], label="4.0", is_active=False, reason="EOL", actor=Actor.system()
    )
    customer.refresh_from_db()
    assert customer.software_level == lv["4.0"]
    event = Event.objects.get(type="software_level.changed")
    assert event.data["changes"] == {"is_active": [True, False]}


def test_a_range_from_after_to_is_refused_on_the_to_field() -> None:
    lv = factories.levels()
    with pytest.raises(DomainError) as refused:
        actions.create_resource(
            kind="article",
            title="Backwards",
            level_from=lv["5.0"],
            level_to=lv["4.0"],
            actor=Actor.system(),
        )
    assert "level_to" in refused.value.errors
    assert not Resource.objects.exists()


def test_moving_a_level_swaps_it_and_refuses_to_turn_a_range_around() -> None:
    lv = factories.levels()
    item = factories.resource("4.0 to SP2", level_from=lv["4.0"], level_to=lv["4.0 SP2"])
    with pytest.raises(DomainError) as refused:
        actions.move_level(lv["4.0 SP2"], direction="up", actor=Actor.system())
    assert "4.0 to SP2" in refused.value.message
    moved = actions.move_level(lv["5.0"], direction="up", actor=Actor.system())
    order = list(SoftwareLevel.objects.order_by("position").values_list("label", flat=True))
    assert order == ["3.0", "4.0", "5.0", "4.0 SP2"]
    assert moved.label == "5.0"
    with pytest.raises(DomainError):
        actions.move_level(lv["3.0"], direction="up", actor=Actor.system())
    with pytest.raises(DomainError):
        actions.move_level(lv["3.0"], direction="sideways", actor=Actor.system())
    item.refresh_from_db()
    assert item.level_from == lv["4.0"]


def test_every_resource_change_is_in_activity_and_the_outbox() -> None:
    lv = factories.levels("4.0", "5.0")
    item = actions.create_resource(kind="software", title="Installer", actor=Actor.system())
    item = actions.update_resource(
        item,
        version=item.version,
        kind="software",
        title="Installer 5.0",
        summary="",
        body="",
        level_from=lv["5.0"],
        level_to=None,
        actor=Actor.system(),
    )
    item = actions.publish_resource(item, version=item.version, actor=Actor.system())
    item = actions.withdraw_resource(
        item, version=item.version, reason="Wrong build", actor=Actor.system()
    )
    types = list(Event.objects.order_by("occurred_at").values_list("type", flat=True))
    assert types[-4:] == [
        "resource.created",
        "resource.updated",
        "resource.published",
        "resource.withdrawn",
    ]
    updated = Activity.objects.get(verb="resource.updated")
    assert updated.changes["title"] == ["Installer", "Installer 5.0"]
    assert updated.changes["level_from"] == ["open", "5.0"]
    assert Activity.objects.get(verb="resource.withdrawn").reason == "Wrong build"
    assert item.status == Resource.Status.DRAFT


def test_a_stale_version_is_refused_but_a_double_click_is_not() -> None:
    item = actions.create_resource(kind="article", title="A", actor=Actor.system())
    first = actions.publish_resource(item, version=item.version, actor=Actor.system())
    again = actions.publish_resource(item, version=item.version, actor=Actor.system())
    assert again.version == first.version  # the same request twice: done, nothing new
    assert Event.objects.filter(type="resource.published").count() == 1
    later = visibility.provider_today() + datetime.timedelta(days=3)
    with pytest.raises(DomainError) as refused:
        actions.publish_resource(
            item, version=item.version, published_on=later, actor=Actor.system()
        )
    assert refused.value.code == ErrorCode.STALE_VERSION
    withdrawn = actions.withdraw_resource(
        first, version=first.version, reason="Old", actor=Actor.system()
    )
    twice = actions.withdraw_resource(
        first, version=first.version, reason="Old", actor=Actor.system()
    )
    assert twice.version == withdrawn.version
    assert Event.objects.filter(type="resource.withdrawn").count() == 1
    with pytest.raises(DomainError) as stale:
        actions.update_resource(
            item,
            version=item.version,
            kind="article",
            title="B",
            summary="",
            body="",
            level_from=None,
            level_to=None,
            actor=Actor.system(),
        )
    assert stale.value.code == ErrorCode.STALE_VERSION


def test_withdraw_needs_a_reason_and_delete_only_unused_drafts(
    django_capture_on_commit_callbacks: Any,
) -> None:
    item = factories.resource("Published", upload=factories.pdf())
    with pytest.raises(DomainError):
        actions.withdraw_resource(item, version=item.version, reason=" ", actor=Actor.system())
    with pytest.raises(DomainError):
        actions.delete_resource(item, version=item.version, actor=Actor.system())
    customer = base.make_customer("Downloader")
    actions.record_download(item, customer=customer, actor=Actor.system())
    item = actions.withdraw_resource(item, version=item.version, reason="Old", actor=Actor.system())
    with pytest.raises(DomainError) as refused:
        actions.delete_resource(item, version=item.version, actor=Actor.system())
    assert "downloaded" in refused.value.message
    draft = actions.create_resource(
        kind="article", title="Junk", upload=factories.pdf("junk.pdf"), actor=Actor.system()
    )
    storage = draft.file.storage
    name = draft.file.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete_resource(draft, version=draft.version, actor=Actor.system())
    assert not Resource.objects.filter(pk=draft.pk).exists()
    assert not storage.exists(name)  # the file goes once the deletion commits
    assert Event.objects.filter(type="resource.deleted").count() == 1


def test_files_are_stored_under_a_random_name_and_checked() -> None:
    item = actions.create_resource(
        kind="software", title="Guide", upload=factories.pdf("My Guide.pdf"), actor=Actor.system()
    )
    folder, stored = item.file.name.split("/")
    assert folder == "resources"
    assert re.fullmatch(r"[0-9a-f]{32}\.pdf", stored)  # random and ASCII: not guessable
    assert (item.file_name, item.file_type) == ("My Guide.pdf", "application/pdf")
    assert item.file_size == len(factories.PDF)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("setup.exe", b"MZ\x90\x00", "cannot be attached"),
        ("page.html", b"<script>alert(1)</script>", "cannot be attached"),
        ("fake.pdf", b"<html>not a pdf</html>", "not a .pdf file"),
        ("empty.pdf", b"", "empty"),
        ("noextension", b"%PDF-1.4", "cannot be attached"),
    ],
)
def test_a_file_off_the_allow_list_is_refused_and_nothing_is_made(
    name: str, content: bytes, message: str
) -> None:
    with pytest.raises(DomainError) as refused:
        actions.create_resource(
            kind="software",
            title="Bad file",
            upload=SimpleUploadedFile(name, content),
            actor=Actor.system(),
        )
    assert message in refused.value.errors["file"][0]
    assert not Resource.objects.exists()


@override_settings(CLIENTDESK_RESOURCE_FILE_MAX_BYTES=1024)
def test_a_file_over_the_limit_is_refused_with_the_sizes() -> None:
    with pytest.raises(DomainError) as refused:
        actions.create_resource(
            kind="software",
            title="Too big",
            upload=factories.pdf("big.pdf", factories.PDF + b"0" * 2048),
            actor=Actor.system(),
        )
    assert refused.value.errors["file"] == ["The file is 2 KB; the limit is 1 KB."]


def test_replacing_a_file_and_removing_it() -> None:
    item = actions.create_resource(
        kind="software", title="Kit", upload=factories.pdf("a.pdf"), actor=Actor.system()
    )
    first = item.file.name
    zipped = SimpleUploadedFile("kit.zip", b"PK\x03\x04rest")
    item = actions.update_resource(
        item,
        version=item.version,
        kind="software",
        title="Kit",
        summary="",
        body="",
        level_from=None,
        level_to=None,
        upload=zipped,
        actor=Actor.system(),
    )
    assert item.file.name != first
    assert (item.file_name, item.file_type) == ("kit.zip", "application/zip")
    item = actions.update_resource(
        item,
        version=item.version,
        kind="software",
        title="Kit",
        summary="",
        body="",
        level_from=None,
        level_to=None,
        remove_file=True,
        actor=Actor.system(),
    )
    assert not item.file
    assert Activity.objects.filter(verb="resource.updated").first().changes["file"] == [
        "kit.zip",
        "none",
    ]


def test_a_download_outside_the_level_is_refused_as_not_found() -> None:
    lv = factories.levels("4.0", "5.0")
    item = factories.resource("5.0 kit", level_from=lv["5.0"], upload=factories.pdf())
    customer = base.make_customer("Old Co")
    Customer.objects.filter(pk=customer.pk).update(software_level=lv["4.0"])
    customer.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        actions.record_download(item, customer=customer, actor=Actor.system())
    assert refused.value.code == ErrorCode.NOT_FOUND
    Customer.objects.filter(pk=customer.pk).update(software_level=lv["5.0"])
    customer.refresh_from_db()
    download = actions.record_download(item, customer=customer, actor=Actor.system())
    assert ResourceDownload.objects.get() == download
    event = Event.objects.get(type="resource.downloaded")
    assert event.customer_id == customer.pk
    assert event.data["resource"]["id"] == item.pk


def test_a_corrected_file_with_the_same_name_replaces_the_old_one(
    django_capture_on_commit_callbacks: Any,
) -> None:
    item = factories.resource("Notes", upload=factories.pdf("notes.pdf"))
    old_name = item.file.name
    storage = item.file.storage
    with django_capture_on_commit_callbacks(execute=True):
        item = actions.update_resource(
            item,
            version=item.version,
            kind=item.kind,
            title=item.title,
            summary=item.summary,
            body=item.body,
            level_from=None,
            level_to=None,
            upload=factories.pdf("notes.pdf", factories.PDF + b"corrected"),
            actor=Actor.system(),
        )
    assert item.file_name == "notes.pdf"
    assert item.file.name != old_name
    assert not storage.exists(old_name)  # the old content is gone, nothing orphaned
    with storage.open(item.file.name) as stored:
        assert stored.read().endswith(b"corrected")
    change = Activity.objects.filter(verb="resource.updated").get()
    assert change.changes["file"] == ["notes.pdf", "notes.pdf (new content)"]


def test_a_refused_update_leaves_no_stored_file() -> None:
    item = factories.resource("Notes")
    storage = Resource._meta.get_field("file").storage
    before = set(storage.listdir("resources")[1]) if storage.exists("resources") else set()
    with pytest.raises(DomainError):
        actions.update_resource(
            item,
            version=item.version + 5,  # stale
            kind=item.kind,
            title=item.title,
            summary="",
            body="",
            level_from=None,
            level_to=None,
            upload=factories.pdf("x.pdf"),
            actor=Actor.system(),
        )
    after = set(storage.listdir("resources")[1]) if storage.exists("resources") else set()
    assert after == before


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("日本語" * 45 + ".txt", None),  # 409 bytes: cut to fit, by bytes
        ("Release Notes €.pdf", "Release Notes €.pdf"),
        ("C:\\Users\\a\\Guide.pdf", "Guide.pdf"),
    ],
)
def test_file_names_of_any_script_are_kept_readable_and_stored_safely(
    name: str, shown: str | None
) -> None:
    content = b"%PDF-1.4" if name.endswith(".pdf") else b"text"
    item = actions.create_resource(
        kind="software",
        title="Names",
        upload=SimpleUploadedFile(name, content),
        actor=Actor.system(),
    )
    assert item.file.name.isascii()
    assert len(item.file_name.encode()) <= 180
    assert item.file_name == (shown or item.file_name)
    assert item.file_name.endswith(name.rsplit(".", 1)[1])


def test_a_name_without_letters_is_refused_with_a_message() -> None:
    with pytest.raises(DomainError) as refused:
        actions.create_resource(
            kind="software",
            title="Odd",
            upload=SimpleUploadedFile("$$$.pdf", b"%PDF-1.4"),
            actor=Actor.system(),
        )
    assert "Rename the file" in refused.value.errors["file"][0]


def test_a_download_in_login_as_is_in_the_customers_activity(world: Any) -> None:
    item = factories.resource("Kit", upload=factories.pdf())
    customer = world.customer_a
    owner = world.users["a_owner"]
    agent = world.users["staff_support"]
    as_owner = Actor(user=owner, source=Source.PORTAL, impersonator=agent)
    download = actions.record_download(item, customer=customer, actor=as_owner)
    assert download.actor_label == as_owner.label[:300]
    row = Activity.objects.get(verb="resource.downloaded")
    assert (row.customer_id, row.impersonator_id) == (customer.pk, agent.pk)
    actions.record_download(item, customer=customer, actor=Actor(user=owner, source=Source.PORTAL))
    assert Activity.objects.filter(verb="resource.downloaded").count() == 1  # only Login As


def test_concurrent_level_labels_end_in_a_clear_error() -> None:
    actions.add_level(label="6.0", actor=Actor.system())
    with pytest.raises(DomainError) as refused:
        actions.add_level(label="6.0", actor=Actor.system())
    assert refused.value.field == "label"


def test_anonymising_a_closed_customer_erases_names_in_its_download_log(world: Any) -> None:
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from clientdesk.lifecycle import retention

    item = factories.resource("Kit", upload=factories.pdf())
    customer = world.customer_a
    actions.record_download(
        item, customer=customer, actor=Actor(user=world.users["a_owner"], source=Source.PORTAL)
    )
    long_ago = timezone.now() - timedelta(days=settings.CLIENTDESK_CLOSED_RETENTION_DAYS + 1)
    Customer.objects.filter(pk=customer.pk).update(status="closed", closed_at=long_ago)
    retention.anonymise_customer(customer, actor=Actor.system())
    download = ResourceDownload.objects.get()
    assert download.actor_label == retention.ERASED
    assert download.resource_id == item.pk  # the record of the download stays


def test_an_article_may_hold_right_to_left_marks_but_not_overrides() -> None:
    item = actions.create_resource(
        kind="article", title="RTL", body="مرحبا\u200f بالعالم", actor=Actor.system()
    )
    assert "\u200f" in item.body
    with pytest.raises(DomainError) as refused:
        actions.create_resource(
            kind="article", title="Spoof", body="abc\u202etxt.exe", actor=Actor.system()
        )
    assert "body" in refused.value.errors


def test_choosing_a_level_in_preferences_is_a_customer_updated_event(world: Any) -> None:
    from clientdesk.customers import actions as customer_actions

    lv = factories.levels("4.0", "5.0")
    owner = Actor(user=world.users["a_owner"], source=Source.PORTAL)
    customer = world.customer_a
    customer_actions.update_profile_section(
        customer, section="preferences", values={"software_level": lv["5.0"].pk}, actor=owner
    )
    event = Event.objects.filter(type="customer.updated", customer=customer).latest("occurred_at")
    assert event.data["changes"]["software_level"][1] in ("5.0", lv["5.0"].pk)
    row = Activity.objects.filter(verb="customer.updated", customer=customer).latest("id")
    assert "software_level" in row.changes
