from django.urls import path, register_converter

from skarbiec.core.bounds import RecordIdConverter
from skarbiec.web import brand
from skarbiec.web.accounts import views as accounts
from skarbiec.web.login import views as login
from skarbiec.web.settings import channels, devices, password
from skarbiec.web.transfers import limits, payees
from skarbiec.web.transfers import views as transfers

app_name = "web"
# Ids in URLs are bounded like every number a request carries (R-X8).
register_converter(RecordIdConverter, "id")

urlpatterns = [
    # Login, session, public pages (R-W1–R-W3, R-M11)
    path("", login.landing, name="landing"),
    path("login/", login.login_password, name="login"),
    path("login/code/", login.login_code, name="login_code"),
    path("login/code/resend/", login.resend_code, name="resend_code"),
    path("password/", login.change_temporary_password, name="password"),
    path("logout/", login.logout, name="logout"),
    path("session/status/", login.session_status, name="session_status"),
    path("session/extend/", login.session_extend, name="session_extend"),
    path("get-the-app/", login.get_the_app, name="get_the_app"),
    # The credit union's logo, public like the login page (issue 12)
    path("brand/logo", brand.brand_mark, name="brand_mark"),
    path("brand/<id:credit_union_id>/logo", brand.brand_logo, name="brand_logo"),
    # Start, accounts and history (R-L1, R-L5)
    path("start/", accounts.start, name="start"),
    path("accounts/", accounts.accounts, name="accounts"),
    path("accounts/<id:account_id>/", accounts.account_history, name="account_history"),
    path(
        "accounts/<id:account_id>/history.csv",
        accounts.account_history_csv,
        name="account_history_csv",
    ),
    path("accounts/entries/<id:entry_id>/", accounts.history_entry, name="history_entry"),
    path(
        "accounts/<id:account_id>/statements/",
        accounts.account_statements,
        name="account_statements",
    ),
    path(
        "accounts/<id:account_id>/statements/<int:year>-<int:month>.pdf",
        accounts.account_statement_pdf,
        name="account_statement_pdf",
    ),
    # Transfers, trusted payees, limits (R-L3, R-L4, R-O2, R-O4)
    path("transfers/new/", transfers.transfer_new, name="transfer_new"),
    path("transfers/<id:order_id>/", transfers.transfer_detail, name="transfer_detail"),
    path("transfers/<id:order_id>/code/", transfers.transfer_code, name="transfer_code"),
    path(
        "transfers/<id:order_id>/code/resend/",
        transfers.transfer_code_resend,
        name="transfer_code_resend",
    ),
    path("transfers/<id:order_id>/cancel/", transfers.transfer_cancel, name="transfer_cancel"),
    path(
        "transfers/<id:order_id>/confirmation.pdf",
        transfers.transfer_confirmation,
        name="transfer_confirmation",
    ),
    path("payees/", payees.payees, name="payees"),
    path("payees/<id:payee_id>/code/", payees.payee_code, name="payee_code"),
    path("payees/<id:payee_id>/remove/", payees.payee_remove, name="payee_remove"),
    path("payees/<id:payee_id>/trust/", payees.payee_trust, name="payee_trust"),
    path("limits/", limits.limits, name="limits"),
    path("limits/<id:change_id>/code/", limits.limits_code, name="limits_code"),
    # Settings (R-W4–R-W6, R-O1)
    path("settings/", channels.settings_home, name="settings"),
    path("settings/channels/", channels.access_channels, name="settings_channels"),
    path(
        "settings/channels/mobile/deactivate/",
        channels.deactivate_mobile,
        name="settings_channel_deactivate",
    ),
    path(
        "settings/channels/mobile/activate/",
        channels.activate_channel,
        name="settings_channel_activate",
    ),
    path(
        "settings/channels/mobile/activate/code/",
        channels.activate_channel_code,
        name="settings_channel_activate_code",
    ),
    path("settings/mobile-app/", channels.activate_app, name="settings_app_activate"),
    path(
        "settings/mobile-app/code/", channels.activate_app_code, name="settings_app_activate_code"
    ),
    path("settings/password/", password.change_web_password, name="settings_password"),
    path(
        "settings/password/code/",
        password.change_web_password_code,
        name="settings_password_code",
    ),
    path("settings/devices/", devices.devices, name="settings_devices"),
    path(
        "settings/devices/<str:device_id>/remove/",
        devices.remove_device,
        name="settings_device_remove",
    ),
    path("settings/security-events/", devices.security_events, name="settings_events"),
]
