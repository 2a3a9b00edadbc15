"""Accounts, the double-entry ledger and transfer orders (SPEC §6, R-L1–R-L6, R-O2, R-O4).

For pages and API handlers (call ONE of these per request; errors are DomainErrors from
skarbiec.ledger.errors, plus OtpInvalid / OtpExpired / OtpAttemptsExhausted from skarbiec.otp
and MobileChannelBlocked / WebChannelBlocked from skarbiec.channels):

- services.member_accounts(member) / get_member_account(member, account_id)
- services.create_transfer_order(member, channel, from_account, payee_account, payee_name,
  amount_minor, title, idempotency_key, ctx) -> Order  (BOOKED/PENDING at once when exempt,
  else AWAITING_AUTHORIZATION with order.otp_id)
- services.authorize_transfer(member, order_id, code, ctx) -> Order
- services.resend_transfer_code / cancel_order / get_order / member_orders
- services.add_trusted_payee(member, channel, name, account, ctx) -> TrustedPayee (PENDING)
  and confirm_trusted_payee(member, payee_id, code, ctx, channel) / remove_trusted_payee /
  trusted_payees
- services.limit_usage(member, channel) -> LimitUsage; change_limits(member, channel, per_tx,
  daily, monthly, ctx) -> LimitChange (APPLIED, or PENDING with otp_id when raising) and
  confirm_limit_change(member, change_id, code, ctx)
- history.account_history(member, account_id, HistoryFilter, page, page_size) -> HistoryPage;
  history_entry(member, entry_id); history_csv(member, account_id, HistoryFilter) -> str
- pdf.transfer_confirmation_pdf(member, order_id, lang) -> bytes
- amounts.parse_amount(text) -> grosze, format_amount(grosze, lang); nrb.parse_nrb(text),
  format_nrb(nrb)

Operators: `skarbiec ledger check|open-account|deposit|balances`, `skarbiec settle`.
"""
