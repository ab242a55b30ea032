"""Template filters that put numbers and times in words, used by every seller page."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

JUST_NOW = "just now"


@register.filter
def ago(value) -> str:
    """ "just now" under a minute, else "5 minutes ago", "2 hours ago", "3 days ago"."""
    if not value:
        return ""
    if timezone.now() - value < timedelta(minutes=1):
        return JUST_NOW
    return f"{timesince(value, depth=1)} ago"
