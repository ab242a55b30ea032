"""manage.py backtest_pricing --store ID [--days 90] [--markup X] [--min-margin Y] [--set NAME=VALUE]:
the store page's Backtest from the command line, printing the same figures."""

from django.core.management.base import CommandError

from config.commands import BaseCommand
from marketplaces.forms import SETTINGS_FIELDS, StorePricingForm
from marketplaces.models import StoreAccount
from marketplaces.services.backtest import BAD_DAYS, BacktestResult, store_backtest

NO_STORE_MESSAGE = "No store with id {value!r}."
BAD_SET_MESSAGE = "--set takes NAME=VALUE with NAME one of: {names}."
INVALID_MESSAGE = "These settings are not allowed: {errors}"
# Options naming the settings a seller changes most; any other one goes through --set.
SHORTCUTS = {
    "markup": "markup_percent",
    "markup_fixed": "markup_fixed",
    "min_margin": "min_margin_percent",
    "price_ending": "price_ending",
    "low_margin_action": "low_margin_action",
    "volatility_buffer": "volatility_buffer",
}


def backtest_lines(result: BacktestResult, currency: str = "") -> list[str]:
    """The figures as the store page shows them, as text lines."""

    def margin(value) -> str:
        return "—" if value is None else f"{value}%"

    rows = [
        ("Hours priced below landed cost", result.current.hours_below_cost, result.edited.hours_below_cost),
        ("Hours paused or out of stock", result.current.hours_paused, result.edited.hours_paused),
        ("Price changes pushed (marketplace calls)", result.current.calls, result.edited.calls),
        ("Average margin", margin(result.current.average_margin), margin(result.edited.average_margin)),
    ]
    lines = [
        f"Backtest of store {result.store_id}: the last {result.days} days ({result.start:%Y-%m-%d %H:%M} to "
        f"{result.end:%Y-%m-%d %H:%M} UTC), {result.listings} listings",
        f"{'':42} {'saved':>10} {'edited':>10}",
        *(f"{label:42} {str(now):>10} {str(edited):>10}" for label, now, edited in rows),
    ]
    if result.top:
        lines.append("Listings that change most (saved → edited: below cost h, paused h, calls, margin):")
        for diff in result.top:
            lines.append(
                f"  #{diff.listing_id} {diff.title[:50]}: {diff.current.hours_below_cost} → "
                f"{diff.edited.hours_below_cost}, {diff.current.hours_paused} → {diff.edited.hours_paused}, "
                f"{diff.current.calls} → {diff.edited.calls}, {margin(diff.current.average_margin)} → "
                f"{margin(diff.edited.average_margin)}"
            )
    return lines


class Command(BaseCommand):
    help = (
        "Replay the last --days (90) of supplier prices and stock for every live listing of a store under its "
        "saved pricing settings and under edited ones (nothing is saved), printing hours below landed cost, "
        "hours paused, marketplace calls and average margin side by side, and the listings that change most."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="The store's id.")
        parser.add_argument("--days", type=int, default=90, help="Days replayed (default 90).")
        parser.add_argument("--markup", help="Markup %%.")
        parser.add_argument("--markup-fixed", dest="markup_fixed", help="Fixed markup.")
        parser.add_argument("--min-margin", dest="min_margin", help="Minimum margin %%.")
        parser.add_argument("--price-ending", dest="price_ending", help="Price ending, e.g. 0.99 ('' for none).")
        parser.add_argument("--low-margin-action", dest="low_margin_action", help="pause or alert.")
        parser.add_argument("--volatility-buffer", dest="volatility_buffer", choices=["on", "off"])
        parser.add_argument(
            "--set", dest="settings", action="append", default=[], help="Any pricing setting: NAME=VALUE (repeat)."
        )

    def handle(self, *args, store, days, settings, **options):
        if not str(store).isdigit() or (account := StoreAccount.objects.filter(pk=int(store)).first()) is None:
            raise CommandError(NO_STORE_MESSAGE.format(value=store))
        if not 1 <= days <= 366:
            raise CommandError(BAD_DAYS)
        changes = {}
        for option, name in SHORTCUTS.items():
            if options.get(option) is not None:
                changes[name] = options[option]
        for item in settings or []:
            name, sep, value = item.partition("=")
            if not sep or name not in SETTINGS_FIELDS:
                raise CommandError(BAD_SET_MESSAGE.format(names=", ".join(SETTINGS_FIELDS)))
            changes[name] = value
        values = {name: "" if value is None else value for name, value in StorePricingForm.initial_for(account).items()}
        if not account.volatility_buffer:
            values.pop("volatility_buffer")  # an unticked box is absent from the form's data
        for name, value in changes.items():
            if name == "volatility_buffer":
                if value in ("on", "true", "1"):
                    values[name] = "on"
                else:
                    values.pop(name, None)
            else:
                values[name] = value
        form = StorePricingForm(values)
        if not form.is_valid():
            errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())
            raise CommandError(INVALID_MESSAGE.format(errors=errors))
        try:
            result = store_backtest(store=account, edited=form.preview_store(account), days=days)
        except (ArithmeticError, ValueError) as exc:
            raise CommandError(f"The backtest could not run: {exc}") from None
        self.stdout.write("\n".join(backtest_lines(result)))
