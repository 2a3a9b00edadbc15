from django.urls import include, path

urlpatterns = [
    path("api/mobile/v1/", include("skarbiec.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language (R-X5)
    path("backoffice/", include("skarbiec.backoffice.urls")),
    path("dev/sms/", include("skarbiec.otp.urls")),
    path("", include("skarbiec.web.urls")),
]
