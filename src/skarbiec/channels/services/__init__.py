"""Channel services: `web` (internet service login and lockout), `mobile` (the mobile app)."""
