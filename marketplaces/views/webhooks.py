"""Endpoints the marketplaces call: eBay's account deletion notifications and Shopify's mandatory
privacy webhooks. No login, no CSRF: each request proves itself by its signature."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from marketplaces.compliance import (
    SHOPIFY_TOPICS,
    NotificationKeyUnavailable,
    ebay_account_erase,
    ebay_challenge_response,
    ebay_deleted_user,
    ebay_notification_verify,
    shopify_customer_topic,
    shopify_shop_erase,
    shopify_webhook_verify,
)

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def ebay_account_deletion(request):
    """GET with challenge_code: prove we own the endpoint. POST: an eBay account was deleted;
    verify eBay's signature (412 if wrong), forget that account's store credentials, answer 204."""
    if request.method == "GET":
        code = request.GET.get("challenge_code", "")
        if not code:
            return HttpResponseBadRequest("challenge_code is missing.")
        if not (settings.EBAY_VERIFICATION_TOKEN and settings.EBAY_DELETION_ENDPOINT_URL):
            logger.error(
                "eBay endpoint challenge received but EBAY_VERIFICATION_TOKEN/EBAY_DELETION_ENDPOINT_URL unset"
            )
            return JsonResponse({"error": "not configured"}, status=503)
        return JsonResponse({"challengeResponse": ebay_challenge_response(code)})
    body = request.body
    try:
        verified = ebay_notification_verify(body, request.headers.get("X-EBAY-SIGNATURE"))
    except NotificationKeyUnavailable as exc:
        logger.warning("eBay notification not verified now (eBay will send it again): %s", exc)
        return HttpResponse(status=500)
    if not verified:
        logger.warning("eBay account deletion notification with a bad signature refused")
        return HttpResponse(status=412)
    try:
        payload = json.loads(body)
    except ValueError:
        return HttpResponseBadRequest("Not JSON.")
    user = ebay_deleted_user(payload)
    if user is not None:
        ebay_account_erase(user)
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def shopify_privacy_webhook(request):
    """Shopify's customers/data_request, customers/redact and shop/redact (one endpoint for all
    three; the topic is in X-Shopify-Topic). 401 unless signed with our app secret."""
    if not shopify_webhook_verify(request.body, request.headers.get("X-Shopify-Hmac-Sha256")):
        return HttpResponse(status=401)
    topic = request.headers.get("X-Shopify-Topic", "")
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    shop = payload.get("shop_domain") or request.headers.get("X-Shopify-Shop-Domain", "")
    if topic == "shop/redact":
        shopify_shop_erase(str(shop))
    elif topic in SHOPIFY_TOPICS:
        shopify_customer_topic(topic, {**payload, "shop_domain": shop})
    else:
        logger.info("Shopify privacy endpoint got topic %r: nothing to do", topic)
    return HttpResponse(status=200)
