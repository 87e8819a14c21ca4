"""The monitoring files of deploy/: Prometheus's configuration and alert rules, Grafana's
provisioning and the dashboard, and how docker-compose.yml runs them.

Every PromQL expression (rules and dashboard targets) is parsed by `promql-parser` (Python
bindings, py-promql-parser, of the Rust crate `promql-parser`, a port of Prometheus's parser) and
every metric it names, read from the syntax tree, must be one the service exports: one of the
catalogue domain.metric_names, which tests/workflows/test_worker_metrics.py and
tests/api/test_metrics.py find on real scrapes. `promtool`, when on PATH (Debian: `apt-get install
prometheus`), checks the rules and the configuration as Prometheus itself loads them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from domain.metric_names import Source, exported_series

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus/alerts.yml"
PROMETHEUS = DEPLOY / "prometheus/prometheus.yml"
DASHBOARD = DEPLOY / "grafana/dashboards/appointments.json"
DATASOURCES = DEPLOY / "grafana/provisioning/datasources/prometheus.yaml"
DASHBOARD_PROVIDERS = DEPLOY / "grafana/provisioning/dashboards/appointments.yaml"
OPERATIONS = ROOT / "docs/operations.md"
# What the contract asks the rules to page on, by the names they have.
PAGED = {
    "RemindersLate",
    "WorkflowTaskScheduleToStartHigh",
    "ProjectionFailing",
    "WebhookQueueDead",
    "ApiErrorRateHigh",
}
# Grafana puts a duration in place of these before it sends a query to Prometheus.
GRAFANA_INTERVALS = re.compile(r"\$__(rate_interval|interval|range)\b")
PINNED = re.compile(r"^[a-z0-9./-]+:v?\d+\.\d+\.\d+$")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    return [rule for group in _yaml(ALERTS)["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml(ROOT / "docker-compose.yml")


def metric_names(expression: str) -> set[str]:
    """The metric names an expression selects, from its syntax tree (by name or `__name__`)."""
    found: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                found.add(node.name)
            found.update(m.value for m in node.matchers.matchers if m.name == "__name__")

    promql_parser.walk(promql_parser.parse(expression), visit)
    return found


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _targets(dashboard: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            yield panel["title"], target


def _as_prometheus_receives(expression: str) -> str:
    return GRAFANA_INTERVALS.sub("5m", expression)


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings: lower case, punctuation dropped, spaces to hyphens."""
    return {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE)
    }


def test_metric_names_come_from_the_syntax_tree() -> None:
    """The extraction itself finds what it must, and a broken expression is refused."""
    assert metric_names('sum(rate(a_total{x="y"}[5m])) / on() b unless {__name__="c"}') == {
        "a_total",
        "b",
        "c",
    }
    assert metric_names('histogram_quantile(0.9, sum by (le) (rate(d_bucket{route="/a"}[5m])))') == {
        "d_bucket"
    }
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(a_total[5m])")


def test_every_alert_pages_with_a_runbook(rules: list[dict[str, Any]]) -> None:
    assert {rule["alert"] for rule in rules} >= PAGED
    anchors = _anchors(OPERATIONS.read_text())
    for rule in rules:
        name = rule["alert"]
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert rule["labels"]["severity"] in {"page", "warning"}, name
        if name in PAGED:
            assert rule["labels"]["severity"] == "page", name
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], name
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path == "docs/operations.md" and anchor == name.lower(), name
        assert anchor in anchors, f"docs/operations.md has no section {name}"


def test_every_metric_a_rule_names_is_exported(rules: list[dict[str, Any]]) -> None:
    exported = exported_series()
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= set(exported), (rule["alert"], names - set(exported))


def test_every_metric_a_panel_names_is_exported(dashboard: dict[str, Any]) -> None:
    exported = exported_series()
    seen: set[str] = set()
    for title, target in _targets(dashboard):
        names = metric_names(_as_prometheus_receives(target["expr"]))
        assert names and names <= set(exported), (title, names - set(exported))
        seen |= names
    # The three parts the dashboard is for: the API, the worker and the business.
    assert {exported[name].source for name in seen} == {Source.API, Source.WORKER}
    assert any(name.startswith("appointments_") for name in seen)


def test_the_dashboard_is_consistent(dashboard: dict[str, Any]) -> None:
    uid = _yaml(DATASOURCES)["datasources"][0]["uid"]
    ids = [panel["id"] for panel in _panels(dashboard)]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 39
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]


def test_grafana_is_provisioned_from_deploy(compose: dict[str, Any]) -> None:
    grafana = compose["services"]["grafana"]
    mounts = {
        source: (target, mode)
        for source, target, mode in (volume.split(":") for volume in grafana["volumes"][:2])
    }
    assert mounts["./deploy/grafana/provisioning"] == ("/etc/grafana/provisioning", "ro")
    provider = _yaml(DASHBOARD_PROVIDERS)["providers"][0]
    assert mounts["./deploy/grafana/dashboards"] == (provider["options"]["path"], "ro")
    datasource = _yaml(DATASOURCES)["datasources"][0]
    assert datasource["url"] == "http://prometheus:9090"
    # A required password, never a default one.
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_prometheus_scrapes_every_replica_and_loads_the_rules(compose: dict[str, Any]) -> None:
    config = _yaml(PROMETHEUS)
    prometheus = compose["services"]["prometheus"]
    mounted = {volume.split(":")[0]: volume.split(":")[1:] for volume in prometheus["volumes"]}
    assert mounted["./deploy/prometheus/prometheus.yml"] == ["/etc/prometheus/prometheus.yml", "ro"]
    assert mounted["./deploy/prometheus/alerts.yml"] == ["/etc/prometheus/alerts.yml", "ro"]
    assert config["rule_files"] == ["alerts.yml"]  # beside the configuration, in both places
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service, port in (("api", "9465"), ("worker", "9464")):
        # Every replica of a scaled service: one A record each on the compose network.
        (discovery,) = jobs[service]["dns_sd_configs"]
        assert discovery["names"] == [service] and discovery["type"] == "A"
        assert str(discovery["port"]) == port
        assert port in compose["services"][service]["expose"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def test_the_monitoring_services_are_pinned_and_local(compose: dict[str, Any]) -> None:
    for name, default in (("prometheus", "127.0.0.1:9090"), ("grafana", "127.0.0.1:3000")):
        service = compose["services"][name]
        assert PINNED.match(service["image"]), service["image"]
        (published,) = service["ports"]
        assert re.fullmatch(r"\$\{[A-Z_]+:-" + re.escape(default) + r"\}:\d+", published), published


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not on PATH (Debian: prometheus)")
def test_promtool_loads_the_rules_and_the_configuration() -> None:
    for command in (["check", "rules", str(ALERTS)], ["check", "config", str(PROMETHEUS)]):
        checked = subprocess.run(["promtool", *command], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr
