"""Structure of the release workflow and of the installer scripts it runs.

No GitHub runner is reachable from here, so the workflow is checked by reading it: valid YAML
with the keys GitHub Actions requires, the three systems built by the repository's own
scripts, every file it names present, and actions pinned to a major version.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gcs.store.settings import Settings

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


def load() -> dict[Any, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(doc, dict)
    return doc


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    out = job["steps"]
    assert isinstance(out, list) and out
    return out


def test_workflow_has_the_shape_github_requires() -> None:
    doc = load()
    assert set(doc) <= {"name", "on", True, "permissions", "env", "jobs", "concurrency"}
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "workflow_dispatch" in triggers and triggers["push"]["tags"] == ["v*"]
    jobs = doc["jobs"]
    assert set(jobs) == {"build", "release"}
    for name, job in jobs.items():
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name)
        assert "runs-on" in job
        for step in steps(job):
            assert ("uses" in step) != ("run" in step), step
            assert set(step) <= {
                "name",
                "id",
                "if",
                "uses",
                "with",
                "run",
                "env",
                "shell",
                "continue-on-error",
                "timeout-minutes",
                "working-directory",
            }
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
    assert jobs["release"]["needs"] == "build"
    assert jobs["release"]["permissions"] == {"contents": "write"}


def test_workflow_builds_all_three_systems_with_the_repository_scripts() -> None:
    build = load()["jobs"]["build"]
    matrix = build["strategy"]["matrix"]["include"]
    assert {m["os"] for m in matrix} == {"linux", "windows", "macos"}
    artefacts = {m["os"]: m["artefacts"] for m in matrix}
    assert "tar.gz" in artefacts["linux"]
    assert "setup.exe" in artefacts["windows"]
    assert ".dmg" in artefacts["macos"]
    runs = "\n".join(s.get("run", "") for s in steps(build))
    assert "bash packaging/build.sh dist" in runs
    assert 'pip install -e ".[gui,test]"' in runs
    assert "tests/packaging" in runs  # the Linux bundle is smoke-tested on the runner too
    for path in re.findall(r"(?:packaging|tests)/[\w./-]+\.(?:sh|py|spec|iss)", runs):
        assert (REPO / path).exists(), path
    upload = [s for s in steps(build) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0]["with"]["if-no-files-found"] == "error"


def test_build_script_and_installers_reference_existing_files() -> None:
    build = (REPO / "packaging" / "build.sh").read_text()
    for path in re.findall(r"packaging/[\w./-]+\.(?:sh|spec|iss|desktop|md)", build):
        assert (REPO / path).exists(), path
    spec = (REPO / "packaging" / "gcs.spec").read_text()
    assert "NSLocalNetworkUsageDescription" in spec
    assert (REPO / "packaging" / "macos" / "entitlements.plist").is_file()


def test_windows_installer_explains_every_station_port() -> None:
    iss = (REPO / "packaging" / "windows" / "gcs.iss").read_text(encoding="utf-8")
    assert "PrivilegesRequired=lowest" in iss  # per-user install
    assert "{localappdata}\\Programs" in iss
    assert "{group}\\" in iss  # Start-menu entries
    reason = next(line for line in iss.splitlines() if line.startswith("en.FirewallReason="))
    s = Settings()
    for port in (
        s.mqtt.port,
        s.http.port,
        s.http.https_port,
        s.storage.port,
        s.ntp.port,
        s.ntp.fallback_port,
    ):
        assert str(port) in reason, port
    for word in ("MQTT", "HTTP", "HTTPS", "NTP", "video"):
        assert word in reason, word
    assert "advfirewall firewall add rule" in iss and "Tasks: firewall" in iss
    # Uninstalling asks before deleting the data folder (platformdirs' place on Windows).
    assert "{localappdata}\\gcs" in iss and "MB_DEFBUTTON2" in iss
