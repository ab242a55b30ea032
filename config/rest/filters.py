"""django-filter for the seller API: the same FilterSets as the pages, bad values answered as a
problem document naming the query parameter."""

from django_filters.rest_framework import DjangoFilterBackend

from .problems import QueryValidationError


class SellerFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            errors = {
                ("non_field_errors" if name == "__all__" else name): [str(message) for message in messages]
                for name, messages in filterset.errors.items()
            }
            raise QueryValidationError(errors)
        return filterset.qs


def api_filterset(filterset_class):
    """A page's FilterSet for the API: the same filters, without its `ordering` (the API's cursor
    pagination sorts, by the view's `ordering_fields`, and documents the choices)."""
    subclass = type(f"Api{filterset_class.__name__}", (filterset_class,), {"__module__": filterset_class.__module__})
    subclass.base_filters = {name: value for name, value in subclass.base_filters.items() if name != "ordering"}
    return subclass
