"""Settings of the internet service: access channels, devices, password (R-W4–R-W6, R-O1)."""
