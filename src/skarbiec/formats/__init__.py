"""Date formats per language where Django's own do not suit the service (R-X5)."""
