"""OpenAPI pieces drf-spectacular cannot infer: the Bearer key scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "xmplatform.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Authorization: Bearer <key> (create keys in the admin or with "
            "`manage.py create_api_key`).",
        }
