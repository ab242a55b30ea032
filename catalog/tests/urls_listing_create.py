"""The project's URLs plus a stand-in `marketplaces:listing_create`, to test the "list this product"
link before (and independently of) the real listing form."""

from django.http import HttpResponse
from django.urls import include, path

import marketplaces.urls
from config.urls import urlpatterns as project_urlpatterns


def listing_create_stub(request):
    return HttpResponse("listing form")


marketplaces_patterns = [
    *[pattern for pattern in marketplaces.urls.urlpatterns if getattr(pattern, "name", None) != "listing_create"],
    path("listings/new/", listing_create_stub, name="listing_create"),
]
urlpatterns = [
    *[pattern for pattern in project_urlpatterns if getattr(pattern, "namespace", None) != "marketplaces"],
    path("", include((marketplaces_patterns, "marketplaces"))),
]
