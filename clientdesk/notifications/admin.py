from django.contrib import admin

from .models import MailLog


@admin.register(MailLog)
class MailLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject", "template", "status", "attempts"]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    # The full bodies hold live single-use links until delivery: the admin shows only the
    # redacted copy, like the staff mail log.
    exclude = ["text_body", "html_body"]
    readonly_fields = [
        f.name for f in MailLog._meta.fields if f.name not in {"text_body", "html_body"}
    ]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
