from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("c/<str:number>/", views.CustomerHomeView.as_view(), name="customer-home"),
]
