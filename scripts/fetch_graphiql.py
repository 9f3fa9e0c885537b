#!/usr/bin/env python3
"""Vendor the npm packages the GraphiQL page loads, or check the vendored copy.

``fetch_graphiql.py`` reads the pins in ``web/graphiql/vendor/packages.toml``,
downloads each package's tarball from the npm registry, refuses any tarball whose
sha512 is not the pinned ``integrity``, copies the listed files (the package's
licence among them) into ``web/graphiql/vendor/<name>@<version>/`` and records
their sha256 in ``web/graphiql/vendor/manifest.json``. It replaces everything
else in that directory, so a rerun gives the same bytes and a dropped package goes.

``fetch_graphiql.py --check`` touches no network: it fails, naming the file, when
a vendored file differs from the manifest, is missing or is not in it, or when the
manifest does not describe the pins. The test suite runs it.

Standard library only, so it runs before any install: ``make graphiql-assets``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import tomllib
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

VENDOR = Path(__file__).resolve().parents[1] / "web" / "graphiql" / "vendor"
LOCK = "packages.toml"
MANIFEST = "manifest.json"
DEFAULT_REGISTRY = "https://registry.npmjs.org/"
LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING")


class VendorError(Exception):
    """The pins, a tarball or the vendored files are not what they should be."""


@dataclass(frozen=True)
class Pin:
    """One package of packages.toml: which version, its tarball's sha512, the files to keep."""

    name: str
    version: str
    integrity: str
    files: tuple[str, ...]

    @property
    def directory(self) -> str:
        return f"{self.name}@{self.version}"

    def tarball_url(self, registry: str) -> str:
        # The registry's tarball path: /<name>/-/<name without scope>-<version>.tgz
        return f"{registry.rstrip('/')}/{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


def read_pins(vendor: Path) -> list[Pin]:
    try:
        with (vendor / LOCK).open("rb") as handle:
            entries = tomllib.load(handle)["package"]
        pins = [Pin(e["name"], e["version"], e["integrity"], tuple(e["files"])) for e in entries]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise VendorError(f"cannot read the pins in {vendor / LOCK}: {exc!r}") from exc
    for pin in pins:
        if not pin.integrity.startswith("sha512-"):
            raise VendorError(f"{pin.directory}: integrity must be npm's sha512-… value")
        for path in pin.files:
            parts = PurePosixPath(path).parts
            if not parts or PurePosixPath(path).is_absolute() or ".." in parts or "\\" in path:
                raise VendorError(f"{pin.directory}: {path!r} is not a plain path inside the package")
        if not any(PurePosixPath(path).name.upper().startswith(LICENCE_NAMES) for path in pin.files):
            raise VendorError(f"{pin.directory}: list the package's LICENSE file among its files")
    if len({pin.name for pin in pins}) != len(pins):
        raise VendorError(f"{LOCK} pins a package twice")
    return pins


def download(url: str) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise VendorError(f"not a registry URL: {url}")
    agent = {"User-Agent": "auth-gateway scripts/fetch_graphiql.py"}
    request = urllib.request.Request(url, headers=agent)  # noqa: S310 - http(s) only, checked above
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - as above
            body: bytes = response.read()
    except OSError as exc:
        raise VendorError(f"cannot download {url}: {exc}") from exc
    return body


def verify_integrity(pin: Pin, tarball: bytes) -> None:
    actual = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != pin.integrity:
        raise VendorError(f"{pin.directory}: the tarball's integrity is {actual}, not the pinned {pin.integrity}")


def unpack(pin: Pin, tarball: bytes) -> tuple[dict[str, bytes], str]:
    """The pinned files of ``tarball`` by path inside the package, and the licence package.json declares."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        # npm tarballs hold one top directory (usually "package/"); paths are relative to it
        members = {
            PurePosixPath(*PurePosixPath(member.name).parts[1:]).as_posix(): member
            for member in archive.getmembers()
            if member.isfile() and len(PurePosixPath(member.name).parts) > 1
        }

        def read(path: str) -> bytes:
            member = members.get(path)
            extracted = archive.extractfile(member) if member else None
            if extracted is None:
                raise VendorError(f"{pin.directory} has no file {path}")
            return extracted.read()

        contents = {path: read(path) for path in pin.files}
        declared = json.loads(read("package.json")).get("license", "")
    return contents, declared if isinstance(declared, str) else json.dumps(declared)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(vendor: Path, registry: str) -> None:
    pins = read_pins(vendor)
    # Download and verify everything before touching the directory: a failure leaves it as it was.
    unpacked = []
    for pin in pins:
        tarball = download(pin.tarball_url(registry))
        verify_integrity(pin, tarball)
        unpacked.append((pin, *unpack(pin, tarball)))

    for child in vendor.iterdir():
        if child.name not in (LOCK, MANIFEST):
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    manifest_packages = []
    total = 0
    for pin, contents, licence in unpacked:
        for path, data in contents.items():
            target = vendor / pin.directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            total += len(data)
        manifest_packages.append(
            {
                "name": pin.name,
                "version": pin.version,
                "integrity": pin.integrity,
                "license": licence,
                "files": {path: sha256(contents[path]) for path in sorted(contents)},
            }
        )
        print(f"{pin.directory}: integrity verified, {len(contents)} files ({licence})")
    manifest = {
        "comment": f"Written by scripts/fetch_graphiql.py from {LOCK}; `--check` compares the files with it.",
        "packages": manifest_packages,
    }
    (vendor / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{sum(len(c) for _, c, _ in unpacked)} files, {total} bytes in {vendor}")


def check(vendor: Path) -> list[str]:
    """What differs between the vendored files, the manifest and the pins; empty when all agree."""
    pins = read_pins(vendor)
    try:
        recorded = {
            f"{entry['name']}@{entry['version']}": entry
            for entry in json.loads((vendor / MANIFEST).read_text(encoding="utf-8"))["packages"]
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"cannot read {vendor / MANIFEST}: {exc!r}"]
    problems = []
    listed: set[str] = set()
    for pin in pins:
        entry = recorded.pop(pin.directory, None)
        if entry is None:
            problems.append(f"{pin.directory}: pinned in {LOCK} but not in {MANIFEST}")
            continue
        if entry.get("integrity") != pin.integrity:
            problems.append(f"{pin.directory}: {MANIFEST} records another integrity than {LOCK}")
        files: dict[str, str] = entry.get("files", {})
        if sorted(files) != sorted(pin.files):
            problems.append(f"{pin.directory}: {MANIFEST} lists {sorted(files)}, {LOCK} {sorted(pin.files)}")
        for path, digest in files.items():
            relative = f"{pin.directory}/{path}"
            listed.add(relative)
            file = vendor / relative
            if not file.is_file():
                problems.append(f"{relative}: missing")
            elif sha256(file.read_bytes()) != digest:
                problems.append(f"{relative}: differs from {MANIFEST} (edited by hand?)")
    problems += [f"{directory}: in {MANIFEST} but not pinned in {LOCK}" for directory in recorded]
    present = {path.relative_to(vendor).as_posix() for path in vendor.rglob("*") if path.is_file()}
    problems += [f"{path}: not in {MANIFEST}" for path in sorted(present - listed - {LOCK, MANIFEST})]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Vendor GraphiQL's npm packages, or check the vendored copy.")
    parser.add_argument("--check", action="store_true", help="only compare the vendored files with the manifest")
    parser.add_argument("--registry", default=DEFAULT_REGISTRY, help=f"npm registry (default {DEFAULT_REGISTRY})")
    parser.add_argument("--vendor-dir", type=Path, default=VENDOR, help="where packages.toml is (default: ours)")
    args = parser.parse_args(argv)
    try:
        if not args.check:
            fetch(args.vendor_dir, args.registry)
        problems = check(args.vendor_dir)
    except VendorError as exc:
        print(f"fetch_graphiql: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"fetch_graphiql: {problem}", file=sys.stderr)
    if problems:
        print("fetch_graphiql: the vendored GraphiQL files do not match; run `make graphiql-assets`", file=sys.stderr)
        return 1
    if args.check:
        print(f"GraphiQL assets in {args.vendor_dir} match {MANIFEST}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
