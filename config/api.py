"""The seller API at /api/v1/: each app's part (its api.py), the OpenAPI schema, the browsable docs
(Swagger UI from drf-spectacular-sidecar, served from our origin), and a problem document for any
other address under /api/v1/ that ends with a slash (one without it is left to Django, which
redirects a GET and refuses a POST)."""

from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from accounts import api as accounts_api
from catalog import api as catalog_api
from marketplaces import api as marketplaces_api
from monitoring import api as monitoring_api

from .rest import schema  # noqa: F401 - registers the Bearer scheme with drf-spectacular
from .rest.views import SellerAPIView


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document of /api/v1/ (public: it holds no data)."""

    authentication_classes = []
    throttle_classes = []


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI, its script and styles from our origin (works offline and under the CSP)."""

    authentication_classes = []
    throttle_classes = []


class NotFoundView(SellerAPIView):
    """Any other /api/v1/ address: a problem document (with the rate-limit headers), not the site's
    HTML page."""

    permission_classes = [AllowAny]
    idempotent = False

    @extend_schema(exclude=True)
    def dispatch(self, request, *args, **kwargs):
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound()


app_name = "api"
urlpatterns = [
    path("", include(accounts_api.urlpatterns)),
    path("", include(catalog_api.urlpatterns)),
    path("", include(marketplaces_api.urlpatterns)),
    path("", include(monitoring_api.urlpatterns)),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^(?P<rest>(?:.*/)?)$", NotFoundView.as_view(), name="not_found"),
]
