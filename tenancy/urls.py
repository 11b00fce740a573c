from django.urls import path

from tenancy import views

app_name = "dashboard"
urlpatterns = [
    path("", views.home, name="home"),
]
