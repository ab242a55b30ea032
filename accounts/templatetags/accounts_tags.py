from django import template

from accounts import ratelimits, security

register = template.Library()


@register.simple_tag(takes_context=True)
def rate_limit_message(context) -> str:
    """ "Try again in N minutes" for the rate limit the current page ran into."""
    request = context.get("request")
    seconds = ratelimits.page_wait_seconds(request) if request is not None else 0
    return ratelimits.try_again_message(seconds or 60)


@register.filter
def email_verified(user) -> bool:
    return security.email_verified(user)


@register.filter
def second_factor_enabled(user) -> bool:
    return security.second_factor_enabled(user)
