"""Endpoints of the mobile app: activation, PIN, fingerprint, sessions, help (R-M1–R-M10).

Handlers only parse input, call one service and shape the answer; the protocol is described in
docs/mobile-api.md.
"""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from skarbiec.api import schemas as s
from skarbiec.api.auth import MobileSessionAuth, mobile_session
from skarbiec.channels.devicepolicy import DeviceInfo, describe_device
from skarbiec.channels.mobile.activation import (
    activate_mobile_device,
    confirm_mobile_device_activation,
)
from skarbiec.channels.mobile.challenges import issue_device_challenge
from skarbiec.channels.mobile.fingerprint import (
    fingerprint_login,
    fingerprint_login_options,
    fingerprint_registration_options,
    register_fingerprint,
)
from skarbiec.channels.mobile.help import mobile_help
from skarbiec.channels.mobile.pin import pin_login, report_failed_fingerprint
from skarbiec.channels.mobile.pin import set_pin as set_device_pin
from skarbiec.channels.mobile.sessions import MobileSessionToken, logout_mobile_session
from skarbiec.channels.queries import mobile_member_summary
from skarbiec.core.context import RequestContext
from skarbiec.core.http import request_context
from skarbiec.members.branding import logo_url

router = Router(tags=["mobile"])
ERRORS = s.ERRORS
session_auth = MobileSessionAuth()


def _ctx(request: HttpRequest) -> RequestContext:
    return request_context(request, "mobile")


def _device(request: HttpRequest, reported: s.DeviceIn | None) -> DeviceInfo | None:
    if reported is None:
        return None
    hints = {
        "platform": request.headers.get("Sec-CH-UA-Platform", ""),
        "platform_version": request.headers.get("Sec-CH-UA-Platform-Version", ""),
    }
    return describe_device(reported.dict(), request.headers.get("User-Agent", ""), hints)


def _session_out(token: MobileSessionToken) -> dict:
    return {
        "token": token.token,
        "device_id": token.device_id,
        "idle_timeout_seconds": token.idle_timeout_seconds,
        "absolute_expires_at": token.absolute_expires_at,
    }


@router.post(
    "/challenge",
    response={200: s.ChallengeOut, **ERRORS},
    description="A single-use challenge for the next signed request. An activated device passes "
    "its `device_id` (query) and is limited per device; without it (activation) the limit is "
    "per client address.",
)
def challenge(request: HttpRequest, device_id: str = "") -> dict[str, Any]:
    issued = issue_device_challenge(_ctx(request), device_id)
    return {"challenge": issued.challenge, "expires_at": issued.expires_at}


@router.post("/activation", response={200: s.ActivationOut, **ERRORS})
def activation(request: HttpRequest, body: s.ActivationIn) -> dict[str, Any]:
    started = activate_mobile_device(
        body.login,
        body.password,
        body.public_key,
        _device(request, body.device) or DeviceInfo(),
        body.challenge,
        body.signature,
        _ctx(request),
        credit_union=body.credit_union,
    )
    return started.__dict__


@router.post("/activation/confirm", response={200: s.BoundDeviceOut, **ERRORS})
def activation_confirm(request: HttpRequest, body: s.ActivationConfirmIn) -> dict[str, Any]:
    bound = confirm_mobile_device_activation(body.activation_id, body.code, _ctx(request))
    return bound.__dict__


@router.post("/pin", response={200: s.SessionOut, **ERRORS})
def set_pin(request: HttpRequest, body: s.SetPinIn) -> dict[str, Any]:
    token = set_device_pin(
        body.device_id, body.pin, body.pin_proof, body.challenge, body.signature, _ctx(request)
    )
    return _session_out(token)


@router.post("/fingerprint/options", auth=session_auth, response={200: dict, **ERRORS})
def fingerprint_options(request: HttpRequest) -> dict[str, Any]:
    return fingerprint_registration_options(mobile_session(request))


@router.post("/fingerprint/register", auth=session_auth, response={200: s.OkOut, **ERRORS})
def fingerprint_register(request: HttpRequest, body: s.FingerprintRegisterIn) -> dict[str, Any]:
    register_fingerprint(mobile_session(request), body.challenge, body.credential, _ctx(request))
    return {"ok": True}


@router.post("/login/pin", response={200: s.SessionOut, **ERRORS})
def login_pin(request: HttpRequest, body: s.PinLoginIn) -> dict[str, Any]:
    token = pin_login(
        body.device_id,
        body.pin_proof,
        body.challenge,
        body.signature,
        _ctx(request),
        device_info=_device(request, body.device),
    )
    return _session_out(token)


@router.post("/login/fingerprint/options", response={200: dict, **ERRORS})
def login_fingerprint_options(request: HttpRequest, body: s.DeviceRefIn) -> dict[str, Any]:
    return fingerprint_login_options(body.device_id, _ctx(request))


@router.post("/login/fingerprint", response={200: s.SessionOut, **ERRORS})
def login_fingerprint(request: HttpRequest, body: s.FingerprintLoginIn) -> dict[str, Any]:
    token = fingerprint_login(
        body.device_id,
        body.challenge,
        body.credential,
        body.signature,
        _ctx(request),
        device_info=_device(request, body.device),
    )
    return _session_out(token)


@router.post("/login/fingerprint/failed", response={200: s.AttemptsOut, **ERRORS})
def login_fingerprint_failed(request: HttpRequest, body: s.FailedFingerprintIn) -> dict[str, Any]:
    left = report_failed_fingerprint(body.device_id, body.challenge, body.signature, _ctx(request))
    return {"attempts_left": left}


@router.post("/logout", auth=session_auth, response={200: s.OkOut, **ERRORS})
def logout(request: HttpRequest) -> dict[str, Any]:
    logout_mobile_session(mobile_session(request), _ctx(request))
    return {"ok": True}


@router.get(
    "/session",
    auth=MobileSessionAuth(slide=False),
    response={200: s.SessionStatusOut, **ERRORS},
    description="Whether the session is still valid and when it expires. Does NOT extend it: "
    "the app may poll this without keeping an idle session alive.",
)
def session(request: HttpRequest) -> dict[str, Any]:
    info = mobile_session(request)
    return {
        "device_id": info.device.device_id,
        "idle_expires_at": info.idle_expires_at,
        "absolute_expires_at": info.absolute_expires_at,
    }


@router.get("/me", auth=session_auth, response={200: s.MeOut, **ERRORS})
def me(request: HttpRequest) -> dict[str, Any]:
    info = mobile_session(request)
    return {
        **mobile_member_summary(info).__dict__,
        "credit_union_logo": logo_url(info.member.credit_union),
    }


@router.get("/help", response={200: s.HelpOut, **ERRORS})
def help_page(request: HttpRequest, device_id: str = "") -> dict[str, Any]:
    content = mobile_help(device_id)
    return {
        "credit_union": content.credit_union,
        "helpline": content.helpline,
        "faq": [{"question": q, "answer": a} for q, a in content.faq],
    }
