"""The back-office (R-B1–R-B6). Every page is listed here; the isolation test walks this list, so
a new page is covered by it automatically."""

from django.urls import path, re_path, register_converter

from skarbiec.backoffice.views import admin, audit, clerk, helpline, login
from skarbiec.core.bounds import RecordIdConverter

app_name = "backoffice"
# Ids in URLs are bounded like every number a request carries (R-X8).
register_converter(RecordIdConverter, "record")

urlpatterns = [
    path("", login.home, name="home"),
    path("login/", login.login, name="login"),
    path("login/enrol/", login.enrol, name="enrol"),
    path("login/code/", login.code, name="code"),
    path("login/recovery/", login.recovery, name="recovery"),
    path("login/recovery-codes/", login.recovery_codes, name="recovery_codes"),
    path("logout/", login.logout, name="logout"),
    # Helpline (R-B3)
    path("members/", helpline.members, name="members"),
    path("members/<record:member_id>/", helpline.member, name="member"),
    path("members/<record:member_id>/web/block/", helpline.block_web, name="block_web"),
    path("members/<record:member_id>/web/unblock/", helpline.unblock_web, name="unblock_web"),
    path("members/<record:member_id>/web/lift-block/", helpline.lift_block, name="lift_block"),
    path(
        "members/<record:member_id>/web/temporary-password/",
        helpline.renew_temporary_password,
        name="renew_temporary_password",
    ),
    path("members/<record:member_id>/mobile/block/", helpline.block_mobile, name="block_mobile"),
    # Not an action: refused and audited whoever asks (R-B3).
    path(
        "members/<record:member_id>/mobile/unblock/", helpline.unblock_mobile, name="unblock_mobile"
    ),
    # Branch clerk (R-B2)
    path("onboard/", clerk.onboard, name="onboard"),
    path("members/<record:member_id>/accounts/new/", clerk.open_account, name="open_account"),
    path("accounts/<record:account_id>/cash/", clerk.cash_page, name="cash"),
    path("cash/<record:txn_id>/receipt.pdf", clerk.receipt, name="receipt"),
    # Administrator (R-B4)
    path("credit-unions/", admin.credit_union_list, name="credit_unions"),
    path("credit-unions/new/", admin.credit_union_new, name="credit_union_new"),
    path(
        "credit-unions/<record:credit_union_id>/",
        admin.credit_union_settings,
        name="credit_union_settings",
    ),
    path("staff/", admin.staff_list, name="staff"),
    path("staff/new/", admin.staff_new, name="staff_new"),
    re_path(
        r"^staff/(?P<staff_id>[0-9]{1,18})/(?P<action>role|unlock|reset-authenticator|password|deactivate|activate)/$",
        admin.staff_action,
        name="staff_action",
    ),
    # Audit (R-B5)
    path("audit/", audit.audit, name="audit"),
    path("audit/export.csv", audit.audit_csv, name="audit_csv"),
]
