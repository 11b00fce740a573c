"""Public and operator pages of messaging: unsubscribe links, the customer cockpit, the operator."""

from django.urls import path

from messaging import cockpit, operator, unsubscribe

urlpatterns = [
    path("u/<str:token>", unsubscribe.unsubscribe_view, name="unsubscribe"),
    path("c/<str:token>", cockpit.cockpit_view, name="cockpit"),
    path("operator/", operator.operator_home, name="operator_home"),
    path(
        "operator/unlock-requests/<int:request_id>/<str:decision>",
        operator.operator_decide,
        name="operator_decide",
    ),
]
