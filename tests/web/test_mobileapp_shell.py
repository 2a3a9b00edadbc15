"""The mobile app's shell over HTTP: installable manifest, service worker that caches only the
shell, texts in Polish and English, CSP without inline code (R-M10, R-M9), and the public
*Get the mobile app* page with its QR code (R-M11)."""

import json
import re
import struct
from pathlib import Path
from xml.etree import ElementTree

import pytest
import segno
from django.contrib.staticfiles import finders
from django.test import Client
from tests.factories import make_credit_union

from skarbiec.mobileapp.texts import TEXTS
from skarbiec.mobileapp.views import SHELL_STATIC

pytestmark = pytest.mark.django_db


def _png_size(path: str) -> tuple[int, int]:
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_r_m10_shell_page_has_no_inline_code_and_links_manifest(client: Client):
    response = client.get("/m/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="pl">' in page  # Polish default
    assert 'rel="manifest" href="/m/manifest.webmanifest"' in page
    assert '<script src="/static/mobileapp/app.js" defer></script>' in page
    # CSP script-src 'self': no inline scripts, handlers or styles.
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert "style=" not in page
    assert "script-src 'self'" in response["Content-Security-Policy"]
    # Accessible: every input has a label, errors are announced.
    for input_id in re.findall(r'<input id="([^"]+)"', page):
        assert f'<label for="{input_id}"' in page, input_id
    assert 'id="error" class="msg msg-error" role="alert" aria-live="assertive"' in page
    # The place where the accounts go (another module fills it).
    assert 'id="accounts" data-accounts' in page


def test_r_m10_manifest_is_installable(client: Client):
    response = client.get("/m/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] and manifest["short_name"]
    assert manifest["start_url"] == "/m/" and manifest["scope"] == "/m/"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")
    sizes = {icon["sizes"]: icon["src"] for icon in manifest["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    for size, src in sizes.items():
        path = finders.find(src.removeprefix("/static/"))
        assert path, src
        assert _png_size(path) == tuple(int(n) for n in size.split("x"))


def test_r_m9_service_worker_caches_only_the_shell(client: Client):
    response = client.get("/m/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/m/"
    script = response.content.decode()
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", script).group(1))
    assert "/m/" in shell
    assert {f"/static/{name}" for name in SHELL_STATIC} <= set(shell)
    assert not any(url.startswith("/api/") for url in shell)
    assert 'url.pathname.startsWith("/api/")) return' in script  # network only
    assert "if (!SHELL.includes(url.pathname)) return;" in script
    # The cache name changes with the shell's contents.
    assert re.search(r'const VERSION = "[0-9a-f]{16}";', script)
    # Every file the worker caches exists.
    for url in shell:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
        else:
            assert client.get(url).status_code == 200, url


def test_r_x5_texts_in_polish_and_english(client: Client):
    response = client.get("/m/i18n.json")
    texts = json.loads(response.content)
    assert set(texts) == {"pl", "en"}
    assert set(texts["en"]) == set(TEXTS) == set(texts["pl"])
    assert texts["en"]["reset"] == "Reset application"
    # Every key the script and the page use exists in the dictionary.
    script = Path(finders.find("mobileapp/app.js")).read_text(encoding="utf-8")
    page = client.get("/m/").content.decode()
    used = set(re.findall(r'\bt\("([a-z_0-9]+)"', script))
    used |= set(re.findall(r'data-t(?:-label)?="([a-z_0-9]+)"', page))
    assert used and used <= set(TEXTS), used - set(TEXTS)
    # The idle lock's text is chosen by the credit union's minutes (1 to 5), in each language.
    assert "t(`idle_logout_${idleMinutes}`)" in script
    assert texts["en"]["idle_logout_1"].startswith("You were logged out after 1 minute without")
    assert "po 1 minucie" in texts["pl"]["idle_logout_1"]
    assert "po 5 minutach" in texts["pl"]["idle_logout_5"]


def test_r_m11_get_the_app_page_with_qr_code_and_link(client: Client, settings):
    """R-M11: public, linked from the landing page, QR code of PUBLIC_URL + /m/, OS minimums."""
    settings.PUBLIC_URL = "https://bank.example.pl"
    make_credit_union(min_android_version="6.0", min_ios_version="12.0")
    landing = client.get("/").content.decode()
    assert 'href="/get-the-app/"' in landing

    response = client.get("/get-the-app/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="https://bank.example.pl/m/"' in page
    assert "Android 6.0" in page and "iOS 12.0" in page
    svg = page[page.index("<svg") : page.index("</svg>") + 6]
    # The picture is the QR code of exactly that address: its modules match segno's matrix.
    root = ElementTree.fromstring(svg)
    path = next(el for el in root.iter() if el.tag.endswith("path")).get("d")
    expected = segno.make("https://bank.example.pl/m/", error="m")
    assert _modules_of_path(path, border=2) == _dark_modules(expected)


def _dark_modules(qr: segno.QRCode) -> set[tuple[int, int]]:
    return {(x, y) for y, row in enumerate(qr.matrix) for x, v in enumerate(row) if v}


def _modules_of_path(d: str, border: int) -> set[tuple[int, int]]:
    """segno draws the dark modules row by row as horizontal strokes in module units
    ('M2 2.5h7m1 0h1…', scaled by a transform): read them back into (column, row) pairs."""
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for cmd, a, b in re.findall(r"([MmHh])\s*(-?[\d.]+)\s*(-?[\d.]+)?", d):
        if cmd in "Mm":
            x, y = (float(a), float(b)) if cmd == "M" else (x + float(a), y + float(b))
        else:
            length = float(a) if cmd == "h" else float(a) - x
            row = round(y - 0.5) - border
            start = round(x) - border
            dark.update((col, row) for col in range(start, start + round(length)))
            x += length
    return dark


def test_r_m11_get_the_app_without_a_credit_union_shows_the_default_policy(client: Client):
    page = client.get("/get-the-app/").content.decode()
    assert "Android 5.1" in page and "iOS 10.0" in page
