from django.urls import path

from customers.api import events, orders, views
from segments.api.views import CustomerSegmentsApi

urlpatterns = [
    path("customers", views.CustomerCollectionApi.as_view(), name="customer-collection"),
    path("customers/bulk/async", views.CustomerBulkImportApi.as_view(), name="customer-bulk-import"),
    path("customers/<str:identifier>", views.CustomerItemApi.as_view(), name="customer-item"),
    path("customers/<str:identifier>/segments", CustomerSegmentsApi.as_view(), name="customer-segments"),
    path("orders", orders.OrderCollectionApi.as_view(), name="order-collection"),
    path("orders/<str:identifier>", orders.OrderItemApi.as_view(), name="order-item"),
    path("events", events.CustomEventTrackApi.as_view(), name="custom-event-track"),
]
