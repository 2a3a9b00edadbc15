"""Bearer authentication of the mobile API; other routers reuse `MobileSessionAuth()`."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from skarbiec.channels.errors import MobileNotAuthenticated
from skarbiec.channels.mobile.sessions import MobileSessionInfo, authenticate_mobile_session


class MobileSessionAuth(HttpBearer):
    """`request.auth` becomes a MobileSessionInfo. Each request slides the idle expiry (R-M9);
    refusals (session_expired, channel_blocked, not_authenticated) are raised as domain errors
    so the API answers them as JSON like every other error."""

    def __init__(self, slide: bool = True) -> None:
        super().__init__()
        self.slide = slide

    def __call__(self, request: HttpRequest) -> MobileSessionInfo | None:
        if not request.headers.get(self.header, "").lower().startswith("bearer "):
            raise MobileNotAuthenticated()
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> MobileSessionInfo:
        return authenticate_mobile_session(token, slide=self.slide)


def mobile_session(request: HttpRequest) -> MobileSessionInfo:
    session = getattr(request, "auth", None)
    if not isinstance(session, MobileSessionInfo):
        raise MobileNotAuthenticated()
    return session
