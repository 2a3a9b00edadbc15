"""The credit union's brand in the web and app headers and the app's icons (issue 12, R-B4):
its name and logo, or the default mark when the administrator has set no logo.

The logo is public (it is shown before login), kept in the database like all state (R-X3);
its version is a digest of its bytes, so a page can ask for it with a long cache lifetime and
a changed logo gets a new address.
"""

import hashlib
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.urls import reverse

from skarbiec.members.models import CreditUnion

DEFAULT_MARK = Path(__file__).parent / "static" / "members" / "mark.svg"
SVG = "image/svg+xml"
PNG = "image/png"
# What a logo may be: an image a browser shows in <img> without running anything of it.
LOGO_TYPES = frozenset({SVG, PNG, "image/jpeg", "image/webp"})


@dataclass(frozen=True)
class Logo:
    content: bytes
    content_type: str
    version: str
    is_default: bool


@cache
def default_mark() -> Logo:
    content = DEFAULT_MARK.read_bytes()
    return Logo(content, SVG, hashlib.sha256(content).hexdigest()[:12], True)


def logo_of(credit_union: CreditUnion | None) -> Logo:
    """The credit union's logo, or the default mark (none set, or a type we do not serve)."""
    if credit_union is None:
        return default_mark()
    content = bytes(credit_union.logo or b"")
    content_type = credit_union.logo_content_type.split(";")[0].strip().lower()
    if not content or content_type not in LOGO_TYPES:
        return default_mark()
    return Logo(content, content_type, hashlib.sha256(content).hexdigest()[:12], False)


def logo_url(credit_union: CreditUnion | None) -> str:
    """Where the web and the app find the credit union's logo (or the default mark), with its
    version (served by skarbiec.web.brand; the API gives the same address to the app)."""
    logo = logo_of(credit_union)
    if credit_union is None or logo.is_default:
        return f"{reverse('web:brand_mark')}?v={logo.version}"
    return f"{reverse('web:brand_logo', args=[credit_union.pk])}?v={logo.version}"


def installation_credit_union() -> CreditUnion | None:
    """The credit union shown before anyone logs in: the only one of an installation with one;
    with several, none (the pages show the product's name and the default mark)."""
    unions = list(CreditUnion.objects.order_by("pk")[:2])
    return unions[0] if len(unions) == 1 else None


def png_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG from its header, for the manifest's icon sizes."""
    if len(content) < 24 or content[:8] != b"\x89PNG\r\n\x1a\n" or content[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", content[16:24])
    return width, height
