from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("c/<str:number>/", views.CustomerHomeView.as_view(), name="customer-home"),
    path("c/<str:number>/account/", views.AccountView.as_view(), name="account"),
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
]
