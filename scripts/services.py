"""Small probes for the shell helpers: is a service there, and who is the demo login.

services.py postgres URL   exit 0 when PostgreSQL answers (creating URL's database if missing)
services.py redis URL      exit 0 when Redis answers PING
services.py demo-login     print the demo seller's login, when there is one
"""

import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 3
PROJECT_DIR = Path(__file__).resolve().parent.parent


def postgres_ready(url: str) -> bool:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    database = unquote(parts.path.lstrip("/")) or "postgres"
    try:
        with psycopg.connect(url, dbname="postgres", connect_timeout=TIMEOUT_SECONDS, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.Error as exc:
        print(f"PostgreSQL at {parts.hostname}:{parts.port or 5432}: {str(exc).strip()}", file=sys.stderr)
        return False
    return True


def redis_ready(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS).ping())
    except redis.RedisError as exc:
        print(f"Redis at {url}: {exc}", file=sys.stderr)
        return False


def demo_login() -> bool:
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    try:
        from monitoring import demo
    except ImportError:
        demo = None
    demo_users = get_user_model().objects.filter(is_demo=True).order_by("pk")
    email = getattr(demo, "DEMO_EMAIL", "")
    user = (email and demo_users.filter(email__iexact=email).first()) or demo_users.first()
    if user is None:
        return False
    password = getattr(demo, "DEMO_PASSWORD", "")
    print(f"  Demo login: {user.get_username()}" + (f" / {password}" if password else ""))
    return True


def main(argv: list[str]) -> int:
    probes = {"postgres": postgres_ready, "redis": redis_ready}
    if len(argv) == 3 and argv[1] in probes:
        return 0 if probes[argv[1]](argv[2]) else 1
    if argv[1:] == ["demo-login"]:
        return 0 if demo_login() else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
