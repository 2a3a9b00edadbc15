from django.urls import include, path

urlpatterns = [
    path("api/mobile/v1/", include("skarbiec.api.urls")),
    path("backoffice/", include("skarbiec.backoffice.urls")),
    path("dev/sms/", include("skarbiec.otp.urls")),
    path("", include("skarbiec.web.urls")),
]
