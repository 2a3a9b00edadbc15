from django.db import models


class RateLimitCounter(models.Model):
    """Requests counted per key in a fixed window; kept in the database so every process agrees."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ratelimit_key_window")
        ]
