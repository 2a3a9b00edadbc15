from django.urls import path

from skarbiec.otp import views

app_name = "otp"

urlpatterns = [
    path("", views.outbox_page, name="outbox"),
]
