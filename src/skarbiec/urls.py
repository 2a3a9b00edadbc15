from django.urls import include, path

urlpatterns = [
    path("api/mobile/v1/", include("skarbiec.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language (R-X5)
    path("backoffice/", include("skarbiec.backoffice.urls")),
    path("dev/sms/", include("skarbiec.otp.urls")),
    path("m/", include("skarbiec.mobileapp.urls")),
    path("", include("skarbiec.web.urls")),
]

# Refusals outside the views answer as JSON under the API and as a page elsewhere (R-X8).
handler400 = "skarbiec.core.refusals.bad_request"
handler404 = "skarbiec.core.refusals.page_not_found"
handler500 = "skarbiec.core.refusals.server_error"
