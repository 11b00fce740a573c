from django.urls import path

from segments.api import views

urlpatterns = [
    path("segments", views.SegmentCollectionApi.as_view(), name="segment-collection"),
    path("segments/<str:segment_id>", views.SegmentItemApi.as_view(), name="segment-item"),
    path(
        "segments/<str:segment_id>/customers", views.SegmentCustomersApi.as_view(), name="segment-customers"
    ),
    path(
        "segments/<str:segment_id>/customers/<str:identifier>",
        views.SegmentCustomerItemApi.as_view(),
        name="segment-customer-item",
    ),
]
