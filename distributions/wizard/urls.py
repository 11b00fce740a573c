from django.urls import path

from distributions.wizard import inline, views

app_name = "wizard"
urlpatterns = [
    path("new/", views.wizard_new, name="new"),
    path("wizard/triggers/", inline.trigger_search, name="triggers"),
    path("wizard/pick/<str:kind>/", inline.picker_options, name="pick"),
    path("wizard/segments/new/", inline.segment_new, name="segment_new"),
    path("wizard/segments/status/", inline.segment_status, name="segment_status"),
    path("wizard/rules/new/", inline.rule_new, name="rule_new"),
    path("wizard/customers/new/", inline.customer_new, name="customer_new"),
    path("<str:public_id>/wizard/send/", views.wizard_send, name="send"),
    path("<str:public_id>/wizard/stop/", views.wizard_stop, name="stop"),
    path("<str:public_id>/wizard/countdown/", views.wizard_countdown, name="countdown"),
    path("<str:public_id>/wizard/channels/add/", views.channel_add, name="channel_add"),
    path("<str:public_id>/wizard/channels/<str:kind>/remove/", views.channel_remove, name="channel_remove"),
    path("<str:public_id>/wizard/<str:step>/", views.wizard_step, name="step"),
]
