"""GraphiQL works offline: the gateway serves the page and everything it loads, and names no other host."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.support.client import Gateway, GatewayFactory
from tests.support.databases_used import sqlite_only
from tests.support.processes import ROOT

GRAPHIQL = ROOT / "web" / "graphiql"
VENDOR = GRAPHIQL / "vendor"
PAGE = {"Accept": "text/html"}
CONTENT_TYPES = {"script": "javascript", "stylesheet": "text/css", "icon": "image/svg+xml"}

# Where a browser loads something from: CSS url() and @import, HTML attributes that fetch.
LOADS = re.compile(
    r"""(?:url\(\s*|@import\s+|\b(?:src|href|srcset|poster|action)\s*=\s*)['"]?\s*([^'"()\s>]+)""", re.IGNORECASE
)
NETWORK_SCHEMES = ("http", "https", "ws", "wss", "ftp")  # not data: or javascript:
# Matches of LOADS in vendored files that no browser loads, each with the reason, reviewed by hand.
INERT = {
    ("graphiql@3.8.3/graphiql.min.js", "//example.com/"): "a comment in markdown-it's linkify rule",
}


class _Page(HTMLParser):
    """What a page loads: (kind, URL) of each script, stylesheet and icon, and its inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[tuple[str, str]] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.assets.append(("script", attributes["src"] or ""))
            else:
                self._open = "script"
        elif tag == "link" and attributes.get("rel") in ("stylesheet", "icon"):
            self.assets.append((attributes["rel"] or "", attributes.get("href") or ""))
        elif tag == "style":
            self._open = "style"
        if attributes.get("style") is not None or any(name.startswith("on") for name in attributes):
            self.inline.append(f"<{tag}> attribute")

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.inline.append(f"<{self._open}> {data.strip()[:40]}")


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def vendored_packages() -> set[str]:
    """``name@version`` of each package in the manifest the fetch script wrote."""
    manifest = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))
    return {f"{package['name']}@{package['version']}" for package in manifest["packages"]}


async def development_page(gateway: Gateway) -> httpx.Response:
    response = await gateway.http.get("/graphql", headers=PAGE)
    assert response.status_code == 200, response.text
    return response


@sqlite_only
class TestThePage:
    async def test_is_served_in_development_with_a_policy_naming_no_other_host(self, gateway: Gateway) -> None:
        response = await development_page(gateway)

        assert response.headers["content-type"].startswith("text/html")
        assert "<title>GraphiQL" in response.text
        assert directives(response.headers["content-security-policy"]) == {
            "default-src": ["'none'"],
            "script-src": ["'self'"],
            # GraphiQL's dialogs insert <style> elements (react-remove-scroll); styles cannot run code
            "style-src": ["'self'", "'unsafe-inline'"],
            "font-src": ["'self'", "data:"],
            "img-src": ["'self'", "data:"],
            "connect-src": ["'self'"],
            "base-uri": ["'none'"],
            "form-action": ["'none'"],
            "frame-ancestors": ["'none'"],
        }

    async def test_has_no_inline_script_or_style_and_loads_only_from_the_gateway(self, gateway: Gateway) -> None:
        page = parse((await development_page(gateway)).text)

        assert page.inline == []
        kinds = sorted({kind for kind, _ in page.assets})
        assert kinds == ["icon", "script", "stylesheet"]
        for _, url in page.assets:
            parts = urlsplit(url)
            assert (parts.scheme, parts.netloc) == ("", ""), f"{url} is not the gateway's"

    async def test_loads_the_vendored_packages_under_versioned_paths(self, gateway: Gateway) -> None:
        page = parse((await development_page(gateway)).text)

        vendored = {url.split("/")[2] for _, url in page.assets if url.startswith("graphiql/vendor/")}
        assert vendored == vendored_packages()

    async def test_every_script_stylesheet_and_icon_it_names_is_served(self, gateway: Gateway) -> None:
        response = await development_page(gateway)
        page = parse(response.text)

        for kind, url in page.assets:
            asset = await gateway.http.get(urljoin(str(response.url), url))
            assert asset.status_code == 200, f"{url}: {asset.status_code}"
            assert CONTENT_TYPES[kind] in asset.headers["content-type"], url
            assert asset.headers["x-content-type-options"] == "nosniff"
            if "/vendor/" in url:  # versioned paths: safe to keep for good
                assert asset.headers["cache-control"] == "public, max-age=31536000, immutable", url
                assert asset.content == (VENDOR / url.removeprefix("graphiql/vendor/")).read_bytes()
            else:
                assert asset.headers["cache-control"] == "no-store", url

    async def test_only_the_assets_are_served_not_the_page_itself(self, gateway: Gateway) -> None:
        for path in ("/graphiql/", "/graphiql/index.html", "/graphiql/vendor/nothing@1.0.0/x.js"):
            response = await gateway.http.get(path)
            assert response.status_code == 404, path
            assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


class TestTheVendoredFiles:
    def test_none_loads_anything_from_another_host(self) -> None:
        files = [path for path in GRAPHIQL.rglob("*") if path.suffix in (".css", ".js", ".html", ".svg")]
        assert {path.name for path in files} >= {"index.html", "graphiql.js", "graphiql.min.js", "graphiql.min.css"}
        loads: list[tuple[str, str]] = []
        seen_inert = set()
        for path in files:
            name = path.relative_to(VENDOR).as_posix() if path.is_relative_to(VENDOR) else path.name
            for match in LOADS.finditer(path.read_text(encoding="utf-8")):
                url = match.group(1)
                parts = urlsplit(url)
                if parts.netloc or parts.scheme in NETWORK_SCHEMES:
                    if (name, url) in INERT:
                        seen_inert.add((name, url))
                    else:
                        loads.append((name, url))
        assert loads == []
        assert seen_inert == set(INERT), "an INERT entry no longer matches: remove it"

    def test_fonts_are_inside_the_stylesheets(self) -> None:
        # graphiql.min.css brings Roboto and Fira Code as data: URIs: no font file to fetch
        faces = [
            face
            for css in VENDOR.rglob("*.css")
            for face in re.findall(r"@font-face\s*{[^}]*}", css.read_text(encoding="utf-8"))
        ]
        assert faces
        assert [face for face in faces if "url(data:font/" not in face] == []


@sqlite_only
class TestProduction:
    @pytest.fixture
    async def production(self, gateway_factory: GatewayFactory) -> Gateway:
        started: Gateway = await gateway_factory(app_env="production")
        return started

    async def test_neither_the_page_nor_its_assets_are_served(self, production: Gateway) -> None:
        page = await production.http.get("/graphql", headers=PAGE)
        assert page.status_code == 405
        assert "graphiql" not in page.text.lower()

        assets = parse((GRAPHIQL / "index.html").read_text(encoding="utf-8")).assets
        assert assets
        for _, url in assets:
            response = await production.http.get("/" + url)
            assert response.status_code == 404, url
            assert response.headers["content-type"] == "application/json"
