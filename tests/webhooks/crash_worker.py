"""A webhook worker in its own process, on its own SQLite file, for the crash test.

``python -m tests.webhooks.crash_worker DIR setup URL`` creates an endpoint and one event;
``… DIR work`` delivers until idle; ``… DIR status`` prints the delivery as JSON.
"""

from __future__ import annotations

import json
import os
import sys


def main(directory: str, mode: str, *args: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/crash.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["CLIENTDESK_WEBHOOK_LEASE_SECONDS"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    from clientdesk.webhooks.models import Delivery

    if mode == "setup":
        call_command("migrate", verbosity=0)
        from clientdesk.core.actor import Actor, Source
        from clientdesk.webhooks import actions
        from tests import factories

        manager = Actor(factories.make_staff("manager"), Source.STAFF)
        customer = factories.make_customer("Crash Test Sdn Bhd")
        actions.create_endpoint(
            actor=manager, url=args[0], target="Billing", event_types=["contact.*"]
        )
        factories.make_contact(customer, "billing", portal=False)
    elif mode == "work":
        call_command("run_webhooks", "--until-idle", "--threads", "2")
    elif mode == "status":
        delivery = Delivery.objects.get()
        print(
            json.dumps(
                {
                    "status": delivery.status,
                    "attempts": delivery.attempts,
                    "webhook_id": delivery.webhook_id,
                    "leased": delivery.lease_expires_at is not None,
                }
            )
        )


if __name__ == "__main__":
    main(*sys.argv[1:])
