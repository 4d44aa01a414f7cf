"""The runner tier's manifests (deploy/kubernetes/runner-*.yaml) keep the trust boundary:
runner pods hold the runner token and nothing else of the app's secrets, never receive the web
app's traffic, and the GPU variant asks Kubernetes for a GPU. (Schema validation of every
manifest, these included, is tests/deploy/test_kubernetes.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"


def runner_documents() -> list[dict[str, Any]]:
    found = []
    for path in sorted(MANIFESTS.glob("runner-*.yaml")):
        found += [document for document in yaml.safe_load_all(path.read_text()) if document]
    return found


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in runner_documents() if d["kind"] == kind}


def test_runner_pods_hold_the_token_and_no_database_url_or_secret_key() -> None:
    deployments = of_kind("Deployment")
    assert set(deployments) == {"textbook-runner", "textbook-runner-gpu"}
    for deployment in deployments.values():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"][:3] == ["textbook", "runner", "serve"]
        env = {item["name"]: item for item in container.get("env", [])}
        assert env["TEXTBOOK_RUNNER_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "textbook-runner", "key": "token"}
        assert not {"TEXTBOOK_DATABASE_URL", "TEXTBOOK_SECRET_KEY"} & set(env)
        assert "envFrom" not in container  # not the web app's ConfigMap or Secret either
        assert pod["automountServiceAccountToken"] is False
        assert container["readinessProbe"]["exec"]["command"][:3] == ["textbook", "runner", "health"]


def test_the_gpu_variant_requests_a_gpu_and_the_cpu_one_does_not() -> None:
    deployments = of_kind("Deployment")
    gpu = deployments["textbook-runner-gpu"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    cpu = deployments["textbook-runner"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert gpu["limits"]["nvidia.com/gpu"] == 1 and gpu["requests"]["nvidia.com/gpu"] == 1
    assert "nvidia.com/gpu" not in cpu["limits"]


def test_each_runner_deployment_has_its_service_and_autoscaler_and_no_web_traffic() -> None:
    deployments, services, autoscalers = of_kind("Deployment"), of_kind("Service"), of_kind("HorizontalPodAutoscaler")
    web_service = yaml.safe_load((MANIFESTS / "service.yaml").read_text())
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert services[name]["spec"]["selector"].items() <= labels.items()
        assert autoscalers[name]["spec"]["scaleTargetRef"]["name"] == name
        assert not web_service["spec"]["selector"].items() <= labels.items()  # the web Service never picks a runner pod


def test_the_network_policy_lets_only_the_web_pods_in_and_nothing_out() -> None:
    (policy,) = of_kind("NetworkPolicy").values()
    (selector,) = policy["spec"]["podSelector"]["matchExpressions"]
    assert set(selector["values"]) == set(of_kind("Deployment"))
    assert policy["spec"]["egress"] == [] and set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    (rule,) = policy["spec"]["ingress"]
    web_pods = yaml.safe_load((MANIFESTS / "deployment.yaml").read_text())["spec"]["template"]["metadata"]["labels"]
    assert rule["from"][0]["podSelector"]["matchLabels"].items() <= web_pods.items()
