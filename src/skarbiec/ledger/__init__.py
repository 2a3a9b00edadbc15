"""Accounts, the double-entry ledger and transfer orders (SPEC §6, R-L1–R-L6, R-O2, R-O4).

One module per job; pages and API handlers call ONE service per request (errors are
DomainErrors from skarbiec.ledger.errors, skarbiec.otp.errors and skarbiec.channels.errors):

- accounts: member_accounts, get_member_account, open_account, deposit_cash, internal accounts;
- booking: post_transaction, the one way money moves (balanced, locked, never below zero);
- orders: create_transfer_order (booked at once when exempt, else waiting for its SMS code),
  get_order, member_orders; order_authorization: authorize_transfer, resend_transfer_code,
  cancel_order; order_booking: execute_order (limits, booking, state, audit);
- payees: add_trusted_payee, trust_saved_payee, confirm_trusted_payee, remove_trusted_payee;
- payee_book: payee_book, book_payee, save_payee, add_payee, create_transfer_saving_payee;
- overview: recent_operations, waiting_orders, monthly_totals (the start page);
- limits: limit_usage, change_limits (lower at once, raise with a code), confirm_limit_change;
- history: account_history, history_entry, history_csv; pdf: transfer_confirmation_pdf;
- amounts, nrb: parsing and formatting of amounts and account numbers;
- clearing, integrity: settlement of outgoing transfers, `skarbiec ledger check`.

Operators: `skarbiec ledger check|open-account|deposit|balances`, `skarbiec settle`.
"""
