"""The device side of the mobile protocol over HTTP (httpx): what a native app does.

Generates the device key pair (ECDSA P-256) and the device secret, computes PIN proofs and
signatures, keeps the session token. Used by the tests (in-process, through the real WSGI stack)
and by load benchmarks; native-app integrators can read it next to docs/mobile-api.md.

    device = DeviceClient("https://localhost:8443", verify=ssl_context)
    started = device.activate("1234567890", "Mobile#pass1")
    if started["otp_required"]:
        device.confirm_activation(code_from_sms)
    device.set_pin("48159")
    device.login_pin("48159")
    device.me()
"""

import secrets
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from skarbiec.channels import protocol

API_PREFIX = "/api/mobile/v1"


class ApiError(Exception):
    """A refusal of the server: `code` is the stable error code, `body` the whole answer."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.body = body
        self.code = str(body.get("code", "error"))
        super().__init__(f"{status} {self.code}: {body.get('message', '')}")


class DeviceClient:
    def __init__(
        self,
        base_url: str = "https://localhost:8443",
        *,
        transport: httpx.BaseTransport | None = None,
        verify: Any = True,
        language: str = "pl",
        device: dict[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + API_PREFIX,
            transport=transport,
            verify=verify,
            timeout=timeout,
            headers={"Accept-Language": language},
        )
        # Sort code of the credit union the app was set up for, when it knows it (R-M1).
        self.credit_union: str = ""
        self.device_info: dict[str, Any] = device or {
            "platform": "android",
            "os_version": "14",
            "app_version": "1.0.0",
            "name": "Test phone",
        }
        self.reset()

    @classmethod
    def in_process(cls, **kwargs: Any) -> "DeviceClient":
        """Talk to this process's Django through the full WSGI stack (middleware included)."""
        from skarbiec.wsgi import application

        return cls("http://localhost", transport=httpx.WSGITransport(app=application), **kwargs)

    # -- local state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """*Reset application* (R-M6): forget the key, secret, device id and session."""
        self.private_key: ec.EllipticCurvePrivateKey = ec.generate_private_key(ec.SECP256R1())
        self.device_secret: bytes = secrets.token_bytes(32)
        self.device_id: str = ""
        self.activation_id: str = ""
        self.token: str = ""

    @property
    def public_key_b64(self) -> str:
        return protocol.b64url_encode(protocol.public_key_der(self.private_key.public_key()))

    def proof(self, pin: str) -> str:
        return protocol.pin_proof(self.device_secret, pin)

    def sign(self, action: str, challenge: str, payload: dict[str, Any]) -> str:
        message = protocol.canonical_message(action, challenge, self.device_id, payload)
        return protocol.sign(self.private_key, message)

    # -- HTTP ----------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, json: Any = None, auth: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """A raw request; `auth` adds the bearer token."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(method, path, json=json, headers=headers, **kwargs)

    def call(
        self, method: str, path: str, json: Any = None, auth: bool = False, **kwargs: Any
    ) -> Any:
        response = self.request(method, path, json=json, auth=auth, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"code": "error", "message": response.text[:200]}
        if response.status_code >= 400:
            raise ApiError(response.status_code, body)
        return body

    def challenge(self) -> str:
        # An activated device names itself: its challenges are limited per device (R-X10).
        params = {"device_id": self.device_id} if self.device_id else None
        return str(self.call("POST", "/challenge", params=params)["challenge"])

    # -- protocol steps ------------------------------------------------------------------------

    def activate(self, login: str, password: str) -> dict[str, Any]:
        """Login + mobile-app password, binding this device's key (R-M2). When the answer says
        `otp_required`, call `confirm_activation(code)`."""
        challenge = self.challenge()
        payload = {"login": login, "public_key": self.public_key_b64}
        saved, self.device_id = self.device_id, ""  # activation is signed before a device id
        signature = self.sign(protocol.ACTIVATE, challenge, payload)
        self.device_id = saved
        body = {
            **payload,
            "password": password,
            "device": self.device_info,
            "challenge": challenge,
            "signature": signature,
        }
        if self.credit_union:
            body["credit_union"] = self.credit_union
        result = self.call("POST", "/activation", body)
        if result.get("activation_id"):
            self.activation_id = result["activation_id"]
        if result.get("device_id"):
            self._bound(result["device_id"])
        return result

    def confirm_activation(self, code: str) -> dict[str, Any]:
        result = self.call(
            "POST", "/activation/confirm", {"activation_id": self.activation_id, "code": code}
        )
        self._bound(result["device_id"])
        return result

    def _bound(self, device_id: str) -> None:
        self.device_id = device_id
        self.token = ""

    def set_pin(self, pin: str) -> dict[str, Any]:
        challenge = self.challenge()
        proof = self.proof(pin)
        body = {
            "device_id": self.device_id,
            "pin": pin,
            "pin_proof": proof,
            "challenge": challenge,
            "signature": self.sign(protocol.SET_PIN, challenge, {"pin_proof": proof}),
        }
        return self._session(self.call("POST", "/pin", body))

    def login_pin_body(self, pin: str, challenge: str | None = None) -> dict[str, Any]:
        """The signed body of a PIN login (tests send prepared bodies in parallel)."""
        challenge = challenge or self.challenge()
        proof = self.proof(pin)
        return {
            "device_id": self.device_id,
            "pin_proof": proof,
            "challenge": challenge,
            "signature": self.sign(protocol.LOGIN_PIN, challenge, {"pin_proof": proof}),
            "device": self.device_info,
        }

    def login_pin(self, pin: str) -> dict[str, Any]:
        return self._session(self.call("POST", "/login/pin", self.login_pin_body(pin)))

    def report_failed_fingerprint(self) -> dict[str, Any]:
        challenge = self.challenge()
        body = {
            "device_id": self.device_id,
            "challenge": challenge,
            "signature": self.sign(protocol.FINGERPRINT_FAILED, challenge, {}),
        }
        return self.call("POST", "/login/fingerprint/failed", body)

    def fingerprint_registration_options(self) -> dict[str, Any]:
        return self.call("POST", "/fingerprint/options", auth=True)

    def register_fingerprint(self, challenge: str, credential: dict[str, Any]) -> dict[str, Any]:
        body = {"challenge": challenge, "credential": credential}
        return self.call("POST", "/fingerprint/register", body, auth=True)

    def fingerprint_login_options(self) -> dict[str, Any]:
        return self.call("POST", "/login/fingerprint/options", {"device_id": self.device_id})

    def login_fingerprint(self, challenge: str, credential: dict[str, Any]) -> dict[str, Any]:
        payload = {"credential_id": credential.get("id", "")}
        body = {
            "device_id": self.device_id,
            "challenge": challenge,
            "credential": credential,
            "signature": self.sign(protocol.LOGIN_FINGERPRINT, challenge, payload),
            "device": self.device_info,
        }
        return self._session(self.call("POST", "/login/fingerprint", body))

    def _session(self, result: dict[str, Any]) -> dict[str, Any]:
        self.token = result["token"]
        return result

    def logout(self) -> dict[str, Any]:
        result = self.call("POST", "/logout", auth=True)
        self.token = ""
        return result

    def session(self) -> dict[str, Any]:
        return self.call("GET", "/session", auth=True)

    def me(self) -> dict[str, Any]:
        return self.call("GET", "/me", auth=True)

    def help(self) -> dict[str, Any]:
        params = f"?device_id={self.device_id}" if self.device_id else ""
        return self.call("GET", f"/help{params}")

    # -- accounts and transfers (R-L1–R-L5) -----------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        return self.call("GET", "/accounts", auth=True)

    def history(self, account_id: int, **filters: Any) -> dict[str, Any]:
        """filters: page, page_size, date_from, date_to (ISO), amount_min, amount_max, text."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self.call("GET", f"/accounts/{account_id}/history", auth=True, params=params)

    def history_entry(self, entry_id: int) -> dict[str, Any]:
        return self.call("GET", f"/history/{entry_id}", auth=True)

    def transfers(self) -> list[dict[str, Any]]:
        return self.call("GET", "/transfers", auth=True)

    def create_transfer(
        self,
        from_account_id: int,
        payee_account: str,
        title: str,
        amount: str | int,
        payee_name: str = "",
        idempotency_key: str | None = None,
        save_payee: bool = False,
    ) -> dict[str, Any]:
        """`amount` as typed ("1 234,56") or integer grosze. A fresh idempotency key unless one
        is given: pass the same key to retry safely (the first order comes back)."""
        body: dict[str, Any] = {
            "from_account_id": from_account_id,
            "payee_account": payee_account,
            "payee_name": payee_name,
            "title": title,
        }
        if save_payee:
            body["save_payee"] = True
        body["amount" if isinstance(amount, str) else "amount_minor"] = amount
        key = idempotency_key or secrets.token_urlsafe(18)
        return self.call("POST", "/transfers", body, auth=True, headers={"Idempotency-Key": key})

    def transfer(self, order_id: int) -> dict[str, Any]:
        return self.call("GET", f"/transfers/{order_id}", auth=True)

    def authorize_transfer(self, order_id: int, code: str) -> dict[str, Any]:
        return self.call("POST", f"/transfers/{order_id}/authorize", {"code": code}, auth=True)

    def resend_transfer_code(self, order_id: int) -> dict[str, Any]:
        return self.call("POST", f"/transfers/{order_id}/resend-code", auth=True)

    def cancel_transfer(self, order_id: int) -> dict[str, Any]:
        return self.call("POST", f"/transfers/{order_id}/cancel", auth=True)

    def transfer_confirmation_pdf(self, order_id: int) -> bytes:
        response = self.request("GET", f"/transfers/{order_id}/confirmation.pdf", auth=True)
        if response.status_code >= 400:
            raise ApiError(response.status_code, response.json())
        return response.content

    def overview(self, months: int | None = None) -> dict[str, Any]:
        """The start screen: accounts, recent operations, waiting orders, months, last login."""
        params = {"months": months} if months else None
        return self.call("GET", "/overview", auth=True, params=params)

    def statements(self, account_id: int) -> list[dict[str, Any]]:
        return self.call("GET", f"/accounts/{account_id}/statements", auth=True)

    def statement_pdf(self, account_id: int, year: int, month: int) -> bytes:
        path = f"/accounts/{account_id}/statements/{year:04d}-{month:02d}.pdf"
        response = self.request("GET", path, auth=True)
        if response.status_code >= 400:
            raise ApiError(response.status_code, response.json())
        return response.content

    def payees(self) -> list[dict[str, Any]]:
        return self.call("GET", "/payees", auth=True)

    def add_payee(
        self, name: str, account: str, title: str = "", trusted: bool = True
    ) -> dict[str, Any]:
        """Into the payee book; trusted (the default) sends an SMS code to confirm."""
        body: dict[str, Any] = {"name": name, "account": account, "trusted": trusted}
        if title:
            body["title"] = title
        return self.call("POST", "/payees", body, auth=True)

    def trust_payee(self, payee_id: int) -> dict[str, Any]:
        return self.call("POST", f"/payees/{payee_id}/trust", auth=True)

    def confirm_payee(self, payee_id: int, code: str) -> dict[str, Any]:
        return self.call("POST", f"/payees/{payee_id}/confirm", {"code": code}, auth=True)

    def remove_payee(self, payee_id: int) -> dict[str, Any]:
        return self.call("DELETE", f"/payees/{payee_id}", auth=True)

    def limits(self) -> dict[str, Any]:
        return self.call("GET", "/limits", auth=True)

    def change_limits(
        self, per_transaction: str | int, daily: str | int, monthly: str | int
    ) -> dict[str, Any]:
        """Each limit as typed text or integer grosze."""
        body: dict[str, Any] = {}
        for name, value in (
            ("per_transaction", per_transaction),
            ("daily", daily),
            ("monthly", monthly),
        ):
            body[name if isinstance(value, str) else f"{name}_minor"] = value
        return self.call("POST", "/limits", body, auth=True)

    def confirm_limits(self, change_id: int, code: str) -> dict[str, Any]:
        return self.call("POST", f"/limits/{change_id}/confirm", {"code": code}, auth=True)

    def close(self) -> None:
        self.http.close()
