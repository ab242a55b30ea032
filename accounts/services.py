"""Changes to a seller's account: sign-up, settings, API key. Each one that a seller could ask
"who did that?" about writes its own audit row."""

from django.db import transaction

from monitoring.records import audit_record

from .models import User


@transaction.atomic
def user_signup(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a seller account (free tier) from the sign-up form."""
    return User.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name)


@transaction.atomic
def user_settings_update(*, user: User, acting_user, old_value: dict, new_value: dict, request=None) -> User:
    """Save the settings a seller changed and record who changed them, old and new values."""
    if not new_value:
        return user
    for field, value in new_value.items():
        setattr(user, field, value)
    user.save(update_fields=[*new_value, "updated_at"])
    audit_record(
        acting_user=acting_user,
        owner=user,
        action="updated",
        resource=user,
        old_value=old_value,
        new_value=new_value,
        request=request,
    )
    return user


@transaction.atomic
def user_api_key_regenerate(*, user: User, acting_user, request=None) -> str:
    """Replace the seller's API key; returns the clear key, which is never stored or logged."""
    old_prefix = user.api_key_prefix
    raw = user.api_key_generate()
    audit_record(
        acting_user=acting_user,
        owner=user,
        action="updated",
        resource=user,
        old_value={"api_key_prefix": old_prefix or None},
        new_value={"api_key_prefix": user.api_key_prefix},
        request=request,
        notes="API key regenerated" if old_prefix else "API key created",
    )
    return raw
