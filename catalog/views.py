from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

PAGE_SIZE = 25


def _template(request, page: str, partial: str) -> str:
    """The whole page, or only its named partial for an HTMX swap (not for a history restore)."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{page}#{partial}"
    return page


@login_required
@require_GET
@vary_on_headers("HX-Request")
def product_list(request):
    """The products the seller tracks, newest first, searchable by title or product id."""
    products = request.user.tracked_products.select_related("supplier").order_by("-created_at", "-pk")
    query = request.GET.get("q", "").strip()
    if query:
        products = products.filter(Q(title__icontains=query) | Q(asin__iexact=query))
    page_obj = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page_obj": page_obj, "products": page_obj.object_list, "query": query}
    return TemplateResponse(request, _template(request, "catalog/product_list.html", "product-table"), context)


@login_required
@require_GET
def product_detail(request, pk):
    """One tracked product: latest supplier data, its price and stock history, the seller's listings of it."""
    product = get_object_or_404(request.user.tracked_products.select_related("supplier"), pk=pk)
    context = {
        "product": product,
        "price_history": product.price_history.all()[:20],
        "stock_history": product.stock_history.all()[:20],
        "listings": request.user.listings.filter(product=product).select_related("store_account"),
    }
    return TemplateResponse(request, "catalog/product_detail.html", context)
