from django.urls import path

from skarbiec.mobileapp import views

app_name = "mobileapp"

urlpatterns = [
    path("", views.app_shell, name="shell"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("i18n.json", views.texts, name="texts"),
]
