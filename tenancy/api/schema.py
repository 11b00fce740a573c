"""Teaches drf-spectacular our key-pair authentication, so the schema documents both headers."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenancy.api.authentication.ApiKeyAuthentication"
    name = ["AppId", "AppToken"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": "X-App-Id"},
            {"type": "apiKey", "in": "header", "name": "X-App-Token"},
        ]
