"""A small HTTP client for system tests against a real `tsunagu serve`: cookies, CSRF tokens from the
forms it is shown, and redirects it reports instead of following."""
from __future__ import annotations

import html
import re
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Page:
    status: int
    location: str | None
    text: str

    def csrf(self) -> str:
        found = CSRF.search(self.text)
        assert found, f"no CSRF token on the page:\n{self.text[:2000]}"
        return html.unescape(found.group(1))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser: its own cookie jar."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect)

    def get(self, path: str) -> Page:
        return self._send(urllib.request.Request(self.base + path))

    def post(self, path: str, form: dict, csrf_from: Page) -> Page:
        body = urllib.parse.urlencode({**form, "csrf_token": csrf_from.csrf()}, doseq=True).encode()
        return self._send(urllib.request.Request(self.base + path, data=body, method="POST"))

    def follow(self, page: Page) -> Page:
        assert page.status in (301, 302, 303), (page.status, page.text[:2000])
        return self.get(urllib.parse.urlsplit(page.location).path + (
            "?" + urllib.parse.urlsplit(page.location).query if urllib.parse.urlsplit(page.location).query else ""))

    def _send(self, request: urllib.request.Request) -> Page:
        try:
            with self.opener.open(request, timeout=30) as response:
                return Page(response.status, response.headers.get("Location"), response.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, error.headers.get("Location"), error.read().decode())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(server: subprocess.Popen, base: str, timeout: float = 60) -> None:
    """Wait for the server to answer its sign-in page; fail early if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server ended ({server.returncode}):\n{server.stderr.read()}")
        try:
            with urllib.request.urlopen(base + "/login", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"no answer from {base} after {timeout}s")
