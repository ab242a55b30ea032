"""manage.py check_proxies: test every active proxy and update its health."""

from django.core.management.base import CommandError
from django.utils.translation import ngettext

from catalog.models import ProxyPool
from catalog.netsafety import UnsafeURL
from catalog.proxies import proxy_check, proxy_reactivate
from config.commands import BaseCommand


class Command(BaseCommand):
    help = (
        "Request PROXY_CHECK_URL through every active proxy, update its health (a proxy failing too often "
        "in a row is deactivated, with the reason) and print one line per proxy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Check against this URL instead of settings.PROXY_CHECK_URL.")
        parser.add_argument(
            "--include-inactive",
            action="store_true",
            help="Also check deactivated proxies; one that passes is put back into use.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check and print, but change nothing.")

    def handle(self, *args, url=None, include_inactive=False, dry_run=False, **options):
        proxies = ProxyPool.objects.order_by("host", "port")
        if not include_inactive:
            proxies = proxies.filter(is_active=True)
        proxies = list(proxies)
        if not proxies:
            self.stdout.write("No proxies to check.")
            return
        passed, failed = 0, []
        for proxy in proxies:
            was_active = proxy.is_active
            try:
                check = proxy_check(proxy=proxy, url=url, record=not dry_run)
            except UnsafeURL as exc:
                raise CommandError(f"The check URL is not allowed (checking proxy {proxy}): {exc}") from exc
            if check.ok and not was_active and not dry_run:
                proxy_reactivate(proxy=proxy)
            passed += check.ok
            if not check.ok:
                failed.append(f"{proxy} ({check.detail})" if check.detail else str(proxy))
            self.stdout.write(self._line(check, was_active=was_active, dry_run=dry_run))
        summary = ngettext("{passed} of {total} proxy passed.", "{passed} of {total} proxies passed.", len(proxies))
        summary = summary.format(passed=passed, total=len(proxies))
        if failed:
            summary = summary.rstrip(".") + "; failed: " + "; ".join(failed) + "."
        self.stdout.write(summary)

    def _line(self, check, *, was_active: bool, dry_run: bool) -> str:
        proxy = check.proxy
        health = f"health {check.health_before}" if dry_run else f"health {check.health_before}→{check.health_after}"
        text = f"{'ok' if check.ok else 'FAIL':<4}  {proxy}  {health}  {check.elapsed * 1000:.0f} ms  {check.detail}"
        if check.deactivated:
            text += f"  — deactivated: {proxy.deactivated_reason}"
        elif check.ok and not was_active and not dry_run:
            text += "  — reactivated"
        return self.style.SUCCESS(text) if check.ok else self.style.ERROR(text)
