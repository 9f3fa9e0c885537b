"""The vendored GraphiQL packages are exactly what scripts/fetch_graphiql.py fetched, licences included."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import ROOT

SCRIPT = ROOT / "scripts" / "fetch_graphiql.py"
VENDOR = ROOT / "web" / "graphiql" / "vendor"


def check(vendor: Path) -> subprocess.CompletedProcess[str]:
    """``fetch_graphiql.py --check``: offline, it never opens a connection."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--check", "--vendor-dir", str(vendor)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def manifest() -> dict[str, dict[str, Any]]:
    """The manifest's entry of each vendored package, by its directory (``name@version``)."""
    packages = json.loads((VENDOR / "manifest.json").read_text(encoding="utf-8"))["packages"]
    return {f"{package['name']}@{package['version']}": package for package in packages}


@pytest.fixture
def vendor_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "vendor"
    shutil.copytree(VENDOR, copy)
    return copy


class TestCheck:
    def test_the_committed_files_match_the_manifest(self) -> None:
        result = check(VENDOR)
        assert result.returncode == 0, result.stderr
        assert "match manifest.json" in result.stdout

    def test_a_hand_edited_file_fails(self, vendor_copy: Path) -> None:
        script = vendor_copy / "graphiql@3.8.3" / "graphiql.min.js"
        script.write_bytes(script.read_bytes().replace(b"GraphiQL", b"GraphiQl", 1))

        result = check(vendor_copy)

        assert result.returncode == 1
        assert "graphiql@3.8.3/graphiql.min.js: differs from manifest.json" in result.stderr

    def test_a_missing_or_extra_file_fails(self, vendor_copy: Path) -> None:
        (vendor_copy / "react@18.2.0" / "LICENSE").unlink()
        (vendor_copy / "react@18.2.0" / "umd" / "react.development.js").write_text("/* dropped in by hand */")

        result = check(vendor_copy)

        assert result.returncode == 1
        assert "react@18.2.0/LICENSE: missing" in result.stderr
        assert "react@18.2.0/umd/react.development.js: not in manifest.json" in result.stderr

    def test_a_pin_the_manifest_does_not_describe_fails(self, vendor_copy: Path) -> None:
        pins = vendor_copy / "packages.toml"
        pins.write_text(pins.read_text(encoding="utf-8").replace('"3.8.3"', '"3.8.4"'), encoding="utf-8")

        result = check(vendor_copy)

        assert result.returncode == 1
        assert "graphiql@3.8.4: pinned in packages.toml but not in manifest.json" in result.stderr


class TestLicences:
    def test_every_vendored_package_keeps_its_licence(self) -> None:
        packages = manifest()
        assert packages
        for directory, package in packages.items():
            assert "LICENSE" in package["files"], directory
            licence = (VENDOR / directory / "LICENSE").read_text(encoding="utf-8")
            assert package["license"] == "MIT", f"{directory}: check the new licence allows vendoring"
            assert "Permission is hereby granted, free of charge" in licence, directory  # the MIT text in full

    def test_every_vendored_directory_is_a_package_of_the_manifest(self) -> None:
        directories = {path.name for path in VENDOR.iterdir() if path.is_dir()}
        assert directories == set(manifest())
