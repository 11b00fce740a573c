from django.urls import path

from messaging.api.consents import CustomerConsentsApi

urlpatterns = [
    path("customers/<str:identifier>/consents", CustomerConsentsApi.as_view(), name="customer-consents"),
]
