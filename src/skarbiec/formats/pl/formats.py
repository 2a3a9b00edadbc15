"""Polish short dates as Polish banks and offices write them: 01.03.2027, not Django's
01-03-2027 (R-X5). The other formats are Django's (3 marca 2027)."""

SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
