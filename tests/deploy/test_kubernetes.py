"""deploy/kubernetes/ against the Kubernetes schemas (offline, kubernetes-validate's
bundled JSON schemas, strict: unknown fields are errors), and against what the app needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from app.config import Settings

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
KUBERNETES_VERSION = kubernetes_validate.latest_version()


def documents() -> dict[str, dict[str, Any]]:
    """The web app's documents by kind (runner-*.yaml: tests/deploy/test_runner_manifests.py)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(MANIFESTS.glob("*.yaml")):
        if path.name.startswith("runner-"):
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found[document["kind"]] = document
    return found


@pytest.mark.parametrize("path", sorted(MANIFESTS.glob("*.yaml")), ids=lambda p: p.name)
def test_each_manifest_is_valid_against_the_kubernetes_schema(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_caught() -> None:  # the validator really validates
    deployment = documents()["Deployment"]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    typo = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, KUBERNETES_VERSION, strict=True)


def test_every_kind_the_deployment_needs_is_there() -> None:
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Job", "ConfigMap"} <= set(
        documents()
    )


def test_the_deployment_probes_drains_and_takes_its_secrets_from_a_secret() -> None:
    found = documents()
    pod = found["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    env = {e["name"]: e for e in container["env"]}
    assert env["TEXTBOOK_SECRET_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "textbook"
    assert env["TEXTBOOK_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "textbook"
    # the sandbox: user namespaces need the runtime's seccomp profile off (the sandbox has its own)
    assert pod["securityContext"]["seccompProfile"]["type"] == "Unconfined"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    # every ConfigMap key is a real setting, and the pod waits long enough for a drain
    config = found["ConfigMap"]["data"]
    settings = Settings(**{k.removeprefix("TEXTBOOK_").lower(): v for k, v in config.items()})
    assert {k.removeprefix("TEXTBOOK_").lower() for k in config} <= set(Settings.model_fields)
    assert pod["terminationGracePeriodSeconds"] > settings.drain_s + settings.shutdown_grace_s
    assert found["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_service_hpa_pdb_and_job_point_at_the_deployment() -> None:
    found = documents()
    labels = found["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert found["Service"]["spec"]["selector"].items() <= labels.items()
    assert found["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert found["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == found["Deployment"]["metadata"]["name"]
    assert found["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2
    job = found["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert job["args"] == ["textbook", "db", "upgrade"]
    assert job["image"] == found["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"]
