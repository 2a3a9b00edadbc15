"""Access rules of the internet service's views."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from skarbiec.web.middleware import login_page_response

# A view's answer may be streamed (the history CSV): HttpResponseBase, not HttpResponse.
View = Callable[..., HttpResponseBase]


def member_required(view: View) -> View:
    """Only a logged-in member (both factors passed); others go to the login page.

    The session limits and the forced password change are enforced earlier, by
    MemberSessionMiddleware, for every request.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if getattr(request, "member", None) is None:
            return login_page_response(request)
        return view(request, *args, **kwargs)

    return wrapper
