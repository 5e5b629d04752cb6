"""The licence list and the packaging scripts agree with what the bundle really contains."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def licenses() -> ModuleType:
    return load("licenses")


def test_third_party_list_names_every_bundled_distribution(licenses: ModuleType) -> None:
    text = (PACKAGING / "THIRD-PARTY.md").read_text().lower()
    bundled = licenses.bundled_distributions()
    assert {"gcs", "amqtt", "aiohttp", "pyside6", "paho-mqtt", "cryptography"} <= set(bundled)
    assert not {"pytest", "boto3", "hypothesis", "pyinstaller"} & set(bundled)
    missing = [n for n in bundled if n != "gcs" and not re.search(rf"\b{re.escape(n)}\b", text)]
    assert not missing, f"add these bundled packages to packaging/THIRD-PARTY.md: {missing}"


def test_collect_copies_a_licence_text_for_every_component(
    licenses: ModuleType, tmp_path: Path
) -> None:
    leaflet = tmp_path / "leaflet"
    leaflet.mkdir()
    (leaflet / "LICENSE").write_text("BSD 2-Clause License\nCopyright (c) Volodymyr Agafonkin")
    (leaflet / ".gcs-version").write_text("1.9.4\n")
    rows = licenses.collect(tmp_path / "out", leaflet=leaflet)
    names = {row[0] for row in rows}
    assert {"pyside6-essentials", "amqtt", "python", "leaflet"} <= names
    for name, _version, _licence, count in rows:
        if name != "gcs":
            assert count > 0 and any((tmp_path / "out" / name).iterdir()), name
    qt = (tmp_path / "out" / "pyside6-essentials" / "LGPL-3.0.txt").read_text()
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in qt and "Version 3" in qt


def test_collect_refuses_a_leaflet_without_its_licence(
    licenses: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "leaflet").mkdir()
    with pytest.raises(FileNotFoundError, match="leaflet"):
        licenses.collect(tmp_path / "out", leaflet=tmp_path / "leaflet")
