from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("<str:identifier>/", views.campaign_detail, name="detail"),
    path("<str:identifier>/codes/", views.campaign_codes, name="codes"),
]
