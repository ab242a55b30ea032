# The product's image: web (gunicorn), Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Debian's Chromium drives the supplier pages that need JavaScript (Playwright uses it; it
# never downloads a browser of its own).
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected at build time; the values here only let production settings load
# and are not the image's (compose sets the real ones).
RUN EMAIL_URL=smtp://localhost:25 ALLOWED_HOSTS=localhost API_SIGNING_KEY=build-only-0123456789abcdefghijklmnopqrstuvwxyz \
    DJANGO_ENV=production SECRET_KEY=build-only-0123456789abcdefghijklmnopqrstuvwxyz CRYPTOGRAPHY_KEY=build-only-0123456789abcdefghijklmnopqrstuvwxyz \
    python manage.py collectstatic --noinput

RUN useradd --create-home --uid 1000 app && mkdir -p /app/var && chown -R app:app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--logger-class", "config.gunicorn_logging.RedactingLogger"]
