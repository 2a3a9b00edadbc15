from django.urls import path

from skarbiec.web import views

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
]
