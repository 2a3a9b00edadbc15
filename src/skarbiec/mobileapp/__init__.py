"""The mobile app as an installable web app (PWA) at /m/: shell, texts, static files."""
