from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<str:identifier>/", views.customer_detail, name="detail"),
    path("<str:identifier>/edit/", views.customer_edit, name="edit"),
]
