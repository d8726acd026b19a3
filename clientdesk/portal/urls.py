from django.urls import include, path

from . import contacts, invitations, views

app_name = "portal"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("invitations/<str:token>/", invitations.InvitationView.as_view(), name="invitation"),
    path(
        "invitations/<str:token>/renew/",
        invitations.InvitationRenewView.as_view(),
        name="invitation-renew",
    ),
    path("c/<str:number>/", views.CustomerHomeView.as_view(), name="customer-home"),
    path("c/<str:number>/account/", views.AccountView.as_view(), name="account"),
    # Before the section routes: "account/login-email/" is not a profile section.
    path("", include("clientdesk.portal.urls_login_email")),
    path(
        "c/<str:number>/account/<str:section>/edit/",
        views.AccountSectionEditView.as_view(),
        name="account-section-edit",
    ),
    path(
        "c/<str:number>/account/<str:section>/",
        views.AccountSectionView.as_view(),
        name="account-section",
    ),
    path("c/<str:number>/activity/", views.ActivityView.as_view(), name="activity"),
    # Portal settings & contacts (seed 004)
    path("c/<str:number>/settings/contacts/", contacts.ContactsView.as_view(), name="contacts"),
    path(
        "c/<str:number>/settings/contacts/new/",
        contacts.ContactCreateView.as_view(),
        name="contact-create",
    ),
    path(
        "c/<str:number>/settings/contacts/<int:contact_id>/edit/",
        contacts.ContactEditView.as_view(),
        name="contact-edit",
    ),
    path(
        "c/<str:number>/settings/contacts/<int:contact_id>/delete/",
        contacts.ContactDeleteView.as_view(),
        name="contact-delete",
    ),
    path(
        "c/<str:number>/settings/contacts/<int:contact_id>/portal-access/",
        contacts.ContactAccessView.as_view(),
        name="contact-access",
    ),
    path(
        "c/<str:number>/settings/invitations/<int:invitation_id>/resend/",
        contacts.InvitationResendView.as_view(),
        name="invitation-resend",
    ),
    path(
        "c/<str:number>/settings/invitations/<int:invitation_id>/cancel/",
        contacts.InvitationCancelView.as_view(),
        name="invitation-cancel",
    ),
    path("c/<str:number>/settings/me/", contacts.MyContactView.as_view(), name="my-contact"),
    path("", include("clientdesk.portal.urls_change_requests")),
    path("", include("clientdesk.portal.urls_billing")),
    path("", include("clientdesk.portal.urls_lifecycle")),
    path("", include("clientdesk.portal.urls_login_as")),
    path("", include("clientdesk.portal.urls_api_keys")),
    path("", include("clientdesk.portal.urls_resources")),
]
