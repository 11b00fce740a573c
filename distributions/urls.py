from django.urls import include, path

from distributions import views

app_name = "distributions"
urlpatterns = [
    path("", include("distributions.wizard.urls")),
    path("", views.distribution_list, name="list"),
    path("<str:public_id>/", views.distribution_detail, name="detail"),
    path("<str:public_id>/row/", views.distribution_row, name="row"),
    path("<str:public_id>/edit/", views.distribution_edit, name="edit"),
    path("<str:public_id>/send/", views.distribution_send, name="send"),
    path("<str:public_id>/pause/", views.distribution_pause, name="pause"),
    path("<str:public_id>/resume/", views.distribution_resume, name="resume"),
    path("<str:public_id>/cancel/", views.distribution_cancel, name="cancel"),
    path("<str:public_id>/delete/", views.distribution_delete, name="delete"),
]
