from django.db import models


class RateLimitCounter(models.Model):
    """Requests counted per key in a fixed window; kept in the database so every process agrees."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)
    # Attempts counted and still being compared, and the last count (core/attempts.py).
    count_in_flight = models.PositiveSmallIntegerField(default=0, db_default=0)
    count_counted_at = models.DateTimeField(null=True, blank=True)
    # The row (window 0) keeping the credit union that answers for an unknown Login, fixed at
    # its first answer so the answers do not change when credit unions are added
    # (members/queries.py, R-T3); 0 for the installation itself.
    answered_as = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ratelimit_key_window")
        ]
