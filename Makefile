# The README's two commands. Both set themselves up from nothing (scripts/setup.sh).
.PHONY: run test setup

run:  ## serve the app with a Celery worker and beat on http://127.0.0.1:8000/
	@bash scripts/run.sh

test:  ## lint, check migrations and run the whole test suite
	@bash scripts/test.sh

setup:  ## only create .venv and install requirements.txt
	@bash scripts/setup.sh
