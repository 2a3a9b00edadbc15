"""The languages a request accepts, as RFC 9110 (§12.5.4) reads Accept-Language: a language
given `q=0` is refused, not merely the least wanted. Django's parser keeps it in the list, and
`Accept-Language: en;q=0` was answered in English; with it gone, such a request gets the
installation's language (Polish) or the next language it accepts."""

from django.http import HttpRequest
from django.utils.translation.trans_real import parse_accept_lang_header

HEADER = "HTTP_ACCEPT_LANGUAGE"


def drop_refused_languages(request: HttpRequest) -> None:
    """Remove the ranges with q=0 from the request's Accept-Language, once, at the edge, so
    every reader of the header (Django's locale middleware, refusal pages) sees the same."""
    header = request.META.get(HEADER)
    if not header or "q=0" not in header:
        return  # q=0.5 passes this test too: the parse below decides
    ranges = parse_accept_lang_header(header)
    accepted = [(language, q) for language, q in ranges if q > 0]
    if len(accepted) == len(ranges):
        return  # nothing refused, or a header Django cannot read (it ignores it as well)
    request.META[HEADER] = ", ".join(f"{language};q={q:g}" for language, q in accepted)
