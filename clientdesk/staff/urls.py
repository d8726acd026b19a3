from django.urls import include, path

from . import contacts, notes, views

app_name = "staff"

urlpatterns = [
    path("", views.StaffHomeView.as_view(), name="home"),
    path("customers/go/", views.CustomerLookupView.as_view(), name="customer-lookup"),
    path("customers/<str:number>/contacts/", contacts.ContactsView.as_view(), name="contacts"),
    path("customers/<str:number>/notes/", notes.NotesView.as_view(), name="notes"),
    path(
        "customers/<str:number>/contacts/new/",
        contacts.ContactCreateView.as_view(),
        name="contact-create",
    ),
    path(
        "customers/<str:number>/contacts/<int:contact_id>/edit/",
        contacts.ContactEditView.as_view(),
        name="contact-edit",
    ),
    path(
        "customers/<str:number>/contacts/<int:contact_id>/delete/",
        contacts.ContactDeleteView.as_view(),
        name="contact-delete",
    ),
    path(
        "customers/<str:number>/contacts/<int:contact_id>/portal-access/",
        contacts.ContactAccessView.as_view(),
        name="contact-access",
    ),
    path(
        "customers/<str:number>/invitations/<int:invitation_id>/resend/",
        contacts.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(
        "customers/<str:number>/invitations/<int:invitation_id>/cancel/",
        contacts.InvitationCancelView.as_view(),
        name="invitation-cancel",
    ),
    # Each area keeps its routes in its own module (one writer per file). The 360 comes
    # last: its customers/<number>/ must not shadow customers/new/ and the like.
    path("", include("clientdesk.staff.urls_search")),
    path("", include("clientdesk.staff.urls_lists")),
    path("", include("clientdesk.staff.urls_import")),
    path("", include("clientdesk.staff.urls_accounts")),
    path("", include("clientdesk.staff.urls_maillog")),
    path("", include("clientdesk.staff.urls_taxes")),
    path("", include("clientdesk.staff.urls_change_requests")),
    path("", include("clientdesk.staff.urls_email_change")),
    path("", include("clientdesk.staff.urls_activity")),
    path("", include("clientdesk.staff.urls_webhooks")),
    path("", include("clientdesk.staff.urls_api_keys")),
    path("", include("clientdesk.staff.urls_resources")),
    path("", include("clientdesk.staff.urls_customer360")),
    path("", include("clientdesk.staff.urls_billing")),
    path("", include("clientdesk.staff.urls_lifecycle")),
    path("", include("clientdesk.staff.urls_login_as")),
]
