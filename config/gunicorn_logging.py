"""gunicorn's logger with reset and confirmation links redacted from the access log
(docker-compose.yml and the Dockerfile start gunicorn with --logger-class pointing here)."""

from gunicorn.glogging import Logger

from config.logredact import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
