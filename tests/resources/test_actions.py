"""The library's actions: levels in order, ranges that cannot turn around, files on an
allow-list, and every change in Activity and the outbox."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from clientdesk.audit.models import Activity
from clientdesk.core.actor import Actor, Source
from clientdesk.core.errors import DomainError, ErrorCode
from clientdesk.customers.models import Customer, SoftwareLevel
from clientdesk.events.models import Event
from clientdesk.resources import actions
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


def test_a_stale_version_is_refused() -> None:
    item = actions.create_resource(kind="article", title="A", actor=Actor.system())
    actions.publish_resource(item, version=item.version, actor=Actor.system())
    with pytest.raises(DomainError) as refused:
        actions.publish_resource(item, version=item.version, actor=Actor.system())
    assert refused.value.code == ErrorCode.STALE_VERSION


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
    assert item.file.name.startswith("resources/")
    assert item.file.name.endswith("/My_Guide.pdf")
    assert len(item.file.name.split("/")[1]) == 32  # a uuid4: not guessable
    assert (item.file_name, item.file_type) == ("My_Guide.pdf", "application/pdf")
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
