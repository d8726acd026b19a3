"""The demo resources library (issue 10, seed 002): items for several software levels, so
that `make run` shows the level filter at work — Aisha (Maju Digital, level 4.0) sees the
4.0 items; switch the level to 5.0 in Preferences and the 5.0 items appear instead.

Loaded through the same actions staff use, as the system, only while the library is empty
(a second run, or a library staff keep, is left alone). The attached files are made here, in
memory: a small PDF, a zip and a text file.
"""

from __future__ import annotations

import datetime
import io
import zipfile
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from clientdesk.core.actor import Actor
from clientdesk.customers.models import SoftwareLevel
from clientdesk.resources import actions, visibility
from clientdesk.resources.models import Resource


@dataclass(frozen=True)
class DemoResource:
    kind: str
    title: str
    summary: str
    body: str
    level_from: str = ""
    level_to: str = ""
    file: str = ""  # a file name: .pdf, .zip or .txt content is made up
    days_ago: int = 0  # negative: scheduled for a later day
    draft: bool = False


DEMO_RESOURCES = [
    DemoResource(
        "article",
        "How your software level filters this library",
        "Why you see these items, and how to change the level you run.",
        "## Your software level\n\nThe library shows the downloads, support packages and notes "
        "for the **software level** your organisation runs.\n\n"
        "- Owners and admins set it in *My Account → Preferences*.\n"
        "- Items for every level are always shown.\n",
        days_ago=40,
    ),
    DemoResource(
        "release_note",
        "Release notes 4.0",
        "What changed in 4.0: e-invoicing, new posting rules, removed reports.",
        "## Highlights\n\n1. E-invoice submission (LHDN MyInvois).\n2. Posting rules per "
        "company code.\n\n## Removed\n\n- The old *Aging (classic)* report.\n",
        level_from="4.0",
        level_to="4.0",
        file="release-notes-4.0.pdf",
        days_ago=120,
    ),
    DemoResource(
        "support_package",
        "Support package 4.0 SP2",
        "Corrections for 4.0 and 4.0 SP2; install before upgrading to 5.0.",
        "## Install\n\n```\nimport the transport, then run the post-install check\n```\n\n"
        "Read **CSP 1042** first if your posting periods are closed.\n",
        level_from="4.0",
        level_to="4.0 SP2",
        file="support-package-4.0-sp2.zip",
        days_ago=30,
    ),
    DemoResource(
        "release_note",
        "Release notes 4.0 SP2",
        "Fixes and small features of the second support package.",
        "## Fixed\n\n- Rounding of tax amounts on credit notes.\n"
        "- Bank file export for MY banks.\n",
        level_from="4.0 SP2",
        level_to="4.0 SP2",
        days_ago=28,
    ),
    DemoResource(
        "article",
        "Posting period errors after an update (CSP 1042)",
        "Error FI 042 when posting into a closed period: cause and fix.",
        "## Symptom\n\nPosting fails with *FI 042*.\n\n## Fix\n\nOpen the period in the "
        "period table, post, and close it again. See the "
        "[vendor's guide](https://docs.example.com/csp/1042).\n",
        level_from="4.0",
        days_ago=12,
    ),
    DemoResource(
        "software",
        "Installer 5.0",
        "The full 5.0 installation package with checksums.",
        "## Before you start\n\n- Back up the database.\n- Install Support package 4.0 SP2.\n",
        level_from="5.0",
        file="installer-5.0.zip",
        days_ago=7,
    ),
    DemoResource(
        "release_note",
        "Release notes 5.0",
        "The 5.0 release: new customer portal, API v1, faster search.",
        "## New\n\n- Customer portal with change requests.\n- REST API v1.\n\n"
        "| Area | Change |\n|---|---|\n| Search | 10× faster |\n| API | new |\n",
        level_from="5.0",
        file="release-notes-5.0.pdf",
        days_ago=6,
    ),
    DemoResource(
        "article",
        "Upgrading from 3.0 to 4.0",
        "The steps, the downtime to plan, and what to test afterwards.",
        "## Steps\n\n1. Install the last 3.0 hotfixes.\n2. Run the upgrade check.\n3. Upgrade.\n",
        level_to="4.0",
        days_ago=200,
    ),
    DemoResource(
        "support_package",
        "Hotfix collection 3.0",
        "Every 3.0 hotfix in one package (3.0 is out of maintenance).",
        "3.0 gets no new fixes. Plan the upgrade: see *Upgrading from 3.0 to 4.0*.",
        level_to="3.0",
        file="hotfixes-3.0.txt",
        days_ago=300,
    ),
    DemoResource(
        "release_note",
        "Release notes 5.1 (preview)",
        "Not published yet: staff can preview it as level 5.0.",
        "## Planned\n\n- Multi-currency statements.\n",
        level_from="5.0",
        draft=True,
    ),
    DemoResource(
        "article",
        "Planned maintenance window",
        "Downloads are unavailable for two hours next week.",
        "We will upgrade the download servers. Scheduled: it appears on its publish day.",
        days_ago=-7,
    ),
]


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF that says ``text`` (valid enough for any viewer)."""
    safe = text.replace("\\", "").replace("(", "").replace(")", "")
    stream = f"BT /F1 18 Tf 72 720 Td ({safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _file_for(demo: DemoResource) -> SimpleUploadedFile | None:
    if not demo.file:
        return None
    if demo.file.endswith(".pdf"):
        content = tiny_pdf(demo.title)
    elif demo.file.endswith(".zip"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("README.txt", f"{demo.title}\n\n{demo.summary}\n")
        content = buffer.getvalue()
    else:
        content = f"{demo.title}\n\n{demo.summary}\n".encode()
    return SimpleUploadedFile(demo.file, content)


def seed_demo_resources() -> int:
    """Load the demo items into an empty library; the number loaded."""
    if Resource.objects.exists():
        return 0
    levels = {level.label: level for level in SoftwareLevel.objects.all()}
    system = Actor.system()
    today = visibility.provider_today()
    loaded = 0
    for demo in DEMO_RESOURCES:
        if (demo.level_from and demo.level_from not in levels) or (
            demo.level_to and demo.level_to not in levels
        ):
            continue  # a manager renamed the demo levels: skip what no longer fits
        item = actions.create_resource(
            kind=demo.kind,
            title=demo.title,
            summary=demo.summary,
            body=demo.body,
            level_from=levels.get(demo.level_from),
            level_to=levels.get(demo.level_to),
            upload=_file_for(demo),
            actor=system,
        )
        if not demo.draft:
            actions.publish_resource(
                item,
                version=item.version,
                published_on=today - datetime.timedelta(days=demo.days_ago),
                actor=system,
            )
        loaded += 1
    return loaded
