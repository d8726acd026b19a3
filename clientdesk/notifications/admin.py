from django.contrib import admin

from .models import MailLog


@admin.register(MailLog)
class MailLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "subject", "template", "status", "attempts"]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    readonly_fields = [f.name for f in MailLog._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
