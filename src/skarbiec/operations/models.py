from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of a background process (the SMS worker), read by /readyz (R-D2).

    One row per process kind, not per process: several workers on several hosts all refresh the
    same row, and the installation is ready while any of them lives.
    """

    name = models.CharField(max_length=64, unique=True)
    beat_at = models.DateTimeField()
    host = models.CharField(max_length=128, blank=True)
    pid = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S} ({self.host}:{self.pid})"
