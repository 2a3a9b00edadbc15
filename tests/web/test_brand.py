"""The credit union's brand (issue 12, R-B4, R-M10): its name and logo in the headers of the
internet service and the app, the default mark when no logo is set, the app's icons, and the
logo served with caching headers, public and running nothing."""

import json
import struct
import zlib

import pytest
from django.test import Client
from tests.api.conftest import device  # noqa: F401  (the in-process app)
from tests.api.steps import member_with_channel, ready_device
from tests.factories import make_credit_union, make_member
from tests.web.login_steps import log_in

from skarbiec.core import clock
from skarbiec.members.branding import default_mark, logo_of
from skarbiec.members.models import CreditUnion
from skarbiec.web.member_session import LAST_SEEN

pytestmark = pytest.mark.django_db


def _png(width: int, height: int) -> bytes:
    """A real (tiny, grey) PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _with_logo(cu: CreditUnion, content: bytes, content_type: str) -> CreditUnion:
    cu.logo = content
    cu.logo_content_type = content_type
    cu.save(update_fields=["logo", "logo_content_type"])
    return cu


def test_r_b4_default_mark_is_an_svg_drawn_for_us_served_with_caching_headers():
    make_credit_union(name="SKOK Przykładowa")
    page = Client().get("/").content.decode()
    mark = default_mark()
    assert f'src="/brand/logo?v={mark.version}"' in page and 'class="brand-mark"' in page
    assert "SKOK Przykładowa" in page

    response = Client().get(f"/brand/logo?v={mark.version}")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    body = response.content.decode()
    assert body.startswith("<svg") and "<path" in body and "<circle" in body
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"] == f'"{mark.version}"'
    # An SVG opened on its own runs nothing and loads nothing.
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    # Without the version the browser revalidates soon; the ETag answers 304.
    assert Client().get("/brand/logo")["Cache-Control"] == "public, max-age=300"
    again = Client().get("/brand/logo", HTTP_IF_NONE_MATCH=f'"{mark.version}"')
    assert again.status_code == 304 and again.content == b""


def test_r_b4_the_credit_unions_logo_in_the_web_header_before_and_after_login(client):
    cu = _with_logo(make_credit_union(name="SKOK Wisła"), _png(64, 32), "image/png")
    make_credit_union(name="SKOK Odra")  # two credit unions: before login none is shown
    logo = logo_of(cu)
    assert not logo.is_default
    page = client.get("/").content.decode()
    assert f"/brand/{cu.pk}/logo" not in page and "/brand/logo?v=" in page

    member = make_member(cu)
    log_in(client, member)
    page = client.get("/start/").content.decode()
    assert f'src="/brand/{cu.pk}/logo?v={logo.version}"' in page and "SKOK Wisła" in page
    response = client.get(f"/brand/{cu.pk}/logo?v={logo.version}")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content == bytes(cu.logo)
    assert "immutable" in response["Cache-Control"]
    assert Client().get("/brand/999999/logo").status_code == 404
    # A new logo gets a new address, so the year-long cache never shows the old one.
    _with_logo(cu, _png(32, 32), "image/png")
    assert logo_of(CreditUnion.objects.get(pk=cu.pk)).version != logo.version


def test_r_b4_a_logo_of_a_type_we_do_not_serve_falls_back_to_the_default_mark():
    cu = _with_logo(make_credit_union(), b"<html><script>alert(1)</script>", "text/html")
    assert logo_of(cu) == default_mark()
    response = Client().get(f"/brand/{cu.pk}/logo")
    assert response["Content-Type"] == "image/svg+xml"


def test_r_w3_the_logo_needs_no_session_and_is_no_activity(client):
    """A logged-in member with a temporary password still gets the logo (no redirect to the
    password page), and fetching it does not move the idle clock (R-W3)."""
    member = make_member(must_change_password="yes")
    log_in(client, member)
    seen = client.session[LAST_SEEN]
    clock.advance(120)
    response = client.get("/brand/logo")
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("public")
    assert client.session[LAST_SEEN] == seen


def test_r_m10_app_header_and_manifest_follow_the_installations_credit_union():
    cu = _with_logo(make_credit_union(name="SKOK Wisła"), _png(512, 512), "image/png")
    shell = Client().get("/m/").content.decode()
    assert '<span id="app-brand">SKOK Wisła</span>' in shell
    assert f'id="app-mark" src="/brand/{cu.pk}/logo?v=' in shell
    manifest = json.loads(Client().get("/m/manifest.webmanifest").content)
    assert manifest["short_name"] == "SKOK Wisła"
    assert manifest["theme_color"] == "#0b4f6c"  # the web's navy, not the old green
    (icon,) = manifest["icons"]
    assert icon["src"].startswith(f"/brand/{cu.pk}/logo?v=")
    assert (icon["sizes"], icon["type"]) == ("512x512", "image/png")


def test_r_m10_the_app_learns_the_members_credit_union_and_its_logo(device):  # noqa: F811
    cu = _with_logo(make_credit_union(name="SKOK Wisła"), _png(48, 48), "image/png")
    make_credit_union(name="SKOK Odra")
    ready_device(device, member_with_channel(credit_union=cu))
    me = device.me()
    assert me["credit_union"] == "SKOK Wisła"
    assert me["credit_union_logo"] == f"/brand/{cu.pk}/logo?v={logo_of(cu).version}"
