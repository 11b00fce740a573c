"""A URL conf with throwaway views that crash, on top of the project's own URLs."""

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from config.urls import server_error
from config.urls import urlpatterns as project_urlpatterns
from tenancy.api.views import ProjectApiView


class CrashingApi(ProjectApiView):
    def get(self, request: Request) -> Response:
        raise RuntimeError("boom")

    def post(self, request: Request) -> Response:
        raise RuntimeError("boom")


def crashing_plain_view(request):
    raise RuntimeError("boom outside DRF")


urlpatterns = [
    path("v1/test-crash", CrashingApi.as_view()),
    path("v1/test-crash-plain", crashing_plain_view),
    *project_urlpatterns,
]
handler500 = server_error
