from django.urls import path, register_converter

from skarbiec.core.bounds import RecordIdConverter
from skarbiec.web import views, views_accounts, views_settings

app_name = "web"
# Ids in URLs are bounded like every number a request carries (R-X8).
register_converter(RecordIdConverter, "id")

urlpatterns = [
    path("", views.landing, name="landing"),
    path("login/", views.login_password, name="login"),
    path("login/code/", views.login_code, name="login_code"),
    path("login/code/resend/", views.resend_code, name="resend_code"),
    path("password/", views.change_temporary_password, name="password"),
    path("start/", views.start, name="start"),
    path("logout/", views.logout, name="logout"),
    path("session/status/", views.session_status, name="session_status"),
    path("session/extend/", views.session_extend, name="session_extend"),
    # Settings (R-W4–R-W6)
    path("settings/", views_settings.settings_home, name="settings"),
    path("settings/channels/", views_settings.access_channels, name="settings_channels"),
    path(
        "settings/channels/mobile/deactivate/",
        views_settings.deactivate_mobile,
        name="settings_channel_deactivate",
    ),
    path(
        "settings/channels/mobile/activate/",
        views_settings.activate_channel,
        name="settings_channel_activate",
    ),
    path(
        "settings/channels/mobile/activate/code/",
        views_settings.activate_channel_code,
        name="settings_channel_activate_code",
    ),
    path("settings/mobile-app/", views_settings.activate_app, name="settings_app_activate"),
    path(
        "settings/mobile-app/code/",
        views_settings.activate_app_code,
        name="settings_app_activate_code",
    ),
    path("settings/password/", views_settings.change_web_password, name="settings_password"),
    path(
        "settings/password/code/",
        views_settings.change_web_password_code,
        name="settings_password_code",
    ),
    path("settings/devices/", views_settings.devices, name="settings_devices"),
    path(
        "settings/devices/<str:device_id>/remove/",
        views_settings.remove_device,
        name="settings_device_remove",
    ),
    path("settings/security-events/", views_settings.security_events, name="settings_events"),
    # The public page that leads to the mobile app (R-M11)
    path("get-the-app/", views.get_the_app, name="get_the_app"),
    # Accounts, history, transfers, trusted payees, limits (R-L1–R-L5, R-O2, R-O4)
    path("accounts/", views_accounts.accounts, name="accounts"),
    path("accounts/<id:account_id>/", views_accounts.account_history, name="account_history"),
    path(
        "accounts/<id:account_id>/history.csv",
        views_accounts.account_history_csv,
        name="account_history_csv",
    ),
    path("accounts/entries/<id:entry_id>/", views_accounts.history_entry, name="history_entry"),
    path("transfers/new/", views_accounts.transfer_new, name="transfer_new"),
    path("transfers/<id:order_id>/", views_accounts.transfer_detail, name="transfer_detail"),
    path("transfers/<id:order_id>/code/", views_accounts.transfer_code, name="transfer_code"),
    path(
        "transfers/<id:order_id>/code/resend/",
        views_accounts.transfer_code_resend,
        name="transfer_code_resend",
    ),
    path("transfers/<id:order_id>/cancel/", views_accounts.transfer_cancel, name="transfer_cancel"),
    path(
        "transfers/<id:order_id>/confirmation.pdf",
        views_accounts.transfer_confirmation,
        name="transfer_confirmation",
    ),
    path("payees/", views_accounts.payees, name="payees"),
    path("payees/<id:payee_id>/code/", views_accounts.payee_code, name="payee_code"),
    path("payees/<id:payee_id>/remove/", views_accounts.payee_remove, name="payee_remove"),
    path("limits/", views_accounts.limits, name="limits"),
    path("limits/<id:change_id>/code/", views_accounts.limits_code, name="limits_code"),
]
