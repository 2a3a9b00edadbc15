"""The credit union's logo for the web and app headers and the app's icons (issue 12, R-B4).

Public like the login page: it is shown before login. Served with caching headers: an address
carrying the logo's version (?v=…) is cached for a year, since a new logo gets a new address;
without it, for five minutes, revalidated by its ETag.
"""

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_safe

from skarbiec.members.branding import SVG, Logo, installation_credit_union, logo_of
from skarbiec.members.models import CreditUnion

YEAR = 365 * 24 * 3600
# A logo is an image, never a document: if opened directly an SVG runs nothing and loads nothing.
LOGO_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _logo_response(request: HttpRequest, logo: Logo) -> HttpResponse:
    etag = f'"{logo.version}"'
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(logo.content, content_type=logo.content_type)
    response["ETag"] = etag
    versioned = request.GET.get("v") == logo.version
    response["Cache-Control"] = (
        f"public, max-age={YEAR}, immutable" if versioned else "public, max-age=300"
    )
    if logo.content_type == SVG:
        response["Content-Security-Policy"] = LOGO_CSP
    return response


@require_safe
def brand_mark(request: HttpRequest) -> HttpResponse:
    """The installation's mark: its one credit union's logo, else the default mark."""
    return _logo_response(request, logo_of(installation_credit_union()))


@require_safe
def brand_logo(request: HttpRequest, credit_union_id: int) -> HttpResponse:
    credit_union = CreditUnion.objects.filter(pk=credit_union_id).first()
    if credit_union is None:
        raise Http404
    return _logo_response(request, logo_of(credit_union))
