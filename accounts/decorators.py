"""View guards for what a stolen session or an unconfirmed account must not do."""

from functools import wraps

from allauth.account.decorators import reauthentication_required as _reauthentication_required
from allauth.account.internal.flows.reauthentication import raise_if_reauthentication_required
from django.contrib.auth.decorators import login_required
from django.template.response import TemplateResponse

from .forms import VerificationResendForm
from .security import email_verified

VERIFICATION_REQUIRED_STATUS = 403


def verified_email_required(view):
    """The seller must have confirmed their email (adding products, connecting a store, making an
    API key); until then the page says so and offers to send the link again."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not email_verified(request.user):
            form = VerificationResendForm(initial={"email": request.user.email})
            return TemplateResponse(
                request, "account/verified_email_required.html", {"form": form}, status=VERIFICATION_REQUIRED_STATUS
            )
        return view(request, *args, **kwargs)

    return wrapper


def reauthentication_required(view=None, *, allow_get: bool = False):
    """ "Confirm it's you": the seller entered their password (or a two-factor code) within the last
    ACCOUNT_REAUTHENTICATION_TIMEOUT seconds, else they are asked to and the request (a POST
    included) goes on afterwards. GET stays open with allow_get (a confirmation page)."""
    decorator = _reauthentication_required(allow_get=allow_get)
    return decorator(view) if view is not None else decorator


def reauthentication_check(request) -> None:
    """The same rule inside a view, once it knows the request is for the seller's own object (so
    another seller's id still answers 404): raises allauth's ReauthenticationRequired, which its
    middleware turns into the "confirm it's you" page, the request going on afterwards."""
    raise_if_reauthentication_required(request, app="")
