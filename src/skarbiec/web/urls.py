from django.urls import path

from skarbiec.web import views, views_mobileapp, views_settings

app_name = "web"

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
    path("settings/devices/", views_settings.devices, name="settings_devices"),
    path(
        "settings/devices/<str:device_id>/remove/",
        views_settings.remove_device,
        name="settings_device_remove",
    ),
    path("settings/security-events/", views_settings.security_events, name="settings_events"),
    # The mobile app (PWA) and the public page that leads to it (R-M11)
    path("get-the-app/", views_mobileapp.get_the_app, name="get_the_app"),
    path("m/", views_mobileapp.app_shell, name="mobileapp"),
    path("m/manifest.webmanifest", views_mobileapp.manifest, name="mobileapp_manifest"),
    path("m/sw.js", views_mobileapp.service_worker, name="mobileapp_sw"),
    path("m/i18n.json", views_mobileapp.texts, name="mobileapp_texts"),
]
