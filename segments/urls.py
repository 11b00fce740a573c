from django.urls import path

from segments import views

app_name = "segments"
urlpatterns = [
    path("", views.segment_list, name="list"),
    path("new/", views.segment_new, name="new"),
    path("estimate/", views.segment_estimate, name="estimate"),
    path("<str:identifier>/", views.segment_detail, name="detail"),
    path("<str:identifier>/edit/", views.segment_edit, name="edit"),
    path("<str:identifier>/upload/", views.segment_upload, name="upload"),
    path("<str:identifier>/resync/", views.segment_resync, name="resync"),
    path("<str:identifier>/delete/", views.segment_delete, name="delete"),
]
