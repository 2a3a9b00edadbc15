"""`skarbiec bench` (SPEC §11): a real `skarbiec run` on PostgreSQL driven over HTTPS by client
processes speaking the device protocol, with server CPU read from /proc.

- `population`: members with accounts, a trusted payee and an activated app, made through the
  real services in the benchmark's own process;
- `load`: what one client process does in each phase (PIN logins, transfers, web password
  steps, the cheapest authenticated call);
- `server`: the system under test, a fresh database and `skarbiec run` on it;
- `probes`: CPU and memory of the server processes, pgbench, the Argon2id verify rate;
- `runner`: the phases in order and the figures P1–P4; `report`: JSON and Markdown.
"""
