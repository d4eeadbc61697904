"""The deploy bundle, checked as far as this machine allows (no Docker daemon, no cluster,
no helm): every file parses, the compose file is consistent with itself and the project,
and the bundle's Dagster instance config loads against a real PostgreSQL and S3 (moto)."""

import re
import shutil
import tomllib
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_aws.s3.compute_log_manager import S3ComputeLogManager

from wareader_pipelines.webhook_receiver.connection_limits import ConnectionLimits
from wareader_pipelines.webhook_receiver.settings import DEFAULT_MAX_BODY_BYTES
from wareader_pipelines_tests.servers.aws import REGION, MotoServer
from wareader_pipelines_tests.servers.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Official images with a pinned release tag (checked by name and tag form only: no registry
# is reachable from here, so their existence is not checked by this test).
PINNED = re.compile(r"^(postgres|minio/minio|minio/mc|wareader-pipelines):[\w.-]+$")


def test_every_deploy_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.y*ml"))
    assert len(files) >= 7
    for path in files:
        assert all(doc is not None for doc in yaml.safe_load_all(path.read_text())), path


def test_compose_names_pinned_images_and_publishes_only_the_gateway() -> None:
    services = COMPOSE["services"]
    assert set(services) >= {
        "postgres",
        "minio",
        "buckets",
        "code-location",
        "webserver",
        "daemon",
        "receiver",
        "gateway",
    }
    for name, service in services.items():
        assert PINNED.match(service["image"]), (name, service["image"])
        assert not service["image"].endswith(":latest")
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway"}
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)


def test_compose_commands_and_build_match_the_project() -> None:
    scripts = set(PYPROJECT["project"]["scripts"]) | {
        "dagster",
        "dagster-webserver",
        "dagster-daemon",
    }
    for name, service in COMPOSE["services"].items():
        if service["image"].startswith("wareader-pipelines"):
            assert service["command"][0] in scripts, name
    build = COMPOSE["services"]["gateway"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            source = line.split()[1]
            assert (REPO / source).exists(), source
    workspace = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    server = workspace["load_from"][0]["grpc_server"]
    code_location = COMPOSE["services"][server["host"]]["command"]
    assert str(server["port"]) == code_location[code_location.index("-p") + 1]
    gateway_env = COMPOSE["services"]["gateway"]["environment"]
    assert gateway_env["WAREADER_GATEWAY_RECEIVER_URL"] == "http://receiver:8080"
    assert gateway_env["WAREADER_GATEWAY_UPSTREAM"] == "http://webserver:3000"


def test_every_required_compose_variable_is_in_the_env_example() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+)(?::[?-])?", text))
    documented = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert required <= documented, required - documented


def test_helm_pieces_agree_with_each_other_and_the_project() -> None:
    values = yaml.safe_load((DEPLOY / "helm" / "dagster-values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    [deployment] = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "wareader_pipelines.definitions"]
    assert deployment["image"]["tag"] == PYPROJECT["project"]["version"]
    instance = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["maxConcurrentRuns"] == instance["concurrency"]["runs"]["max_concurrent_runs"]

    receiver = list(yaml.safe_load_all((DEPLOY / "helm" / "receiver.yaml").read_text()))
    kinds = {doc["kind"]: doc for doc in receiver}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert (
        kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"]
        == kinds["Deployment"]["metadata"]["name"]
    )
    paths = kinds["Ingress"]["spec"]["rules"][0]["http"]["paths"]
    assert [(p["path"], p["pathType"]) for p in paths] == [("/webhook", "Exact")]


def test_the_proxies_in_front_of_the_receiver_hold_its_own_limits() -> None:
    """The Ingress and the documented nginx block cap what the receiver caps, with its defaults.

    The receiver's limits are per process; the proxy is where a deployment with several
    workers or replicas gets one line for all of them, so the two must not drift apart.
    """
    limits = ConnectionLimits()
    body_mib = DEFAULT_MAX_BODY_BYTES // (1024 * 1024)
    receiver = list(yaml.safe_load_all((DEPLOY / "helm" / "receiver.yaml").read_text()))
    ingress = {doc["kind"]: doc for doc in receiver}["Ingress"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == f"{body_mib}m"
    assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
    assert int(annotations["nginx.ingress.kubernetes.io/limit-connections"]) > 0

    docs = (DEPLOY.parent / "docs" / "live_ingestion.md").read_text()
    nginx = docs.split("```nginx", 1)[1].split("```", 1)[0]
    directives = dict(re.findall(r"^\s*(\w+)\s+([^;]+);", nginx, re.MULTILINE))
    assert directives["client_header_timeout"] == f"{limits.header_timeout:g}s"
    assert directives["client_body_timeout"] == f"{limits.body_timeout:g}s"
    assert directives["keepalive_timeout"] == f"{limits.keep_alive_timeout:g}s"
    assert directives["keepalive_requests"] == str(limits.max_requests_per_connection)
    assert directives["client_max_body_size"] == f"{body_mib}m"
    assert directives["proxy_request_buffering"] == "on"


def test_the_bundle_instance_config_loads_on_postgres_and_s3(
    postgres_server: PostgresServer,
    moto_server: MotoServer,
    aws_credentials: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    database = postgres_server.create_database("dagster")
    bucket = moto_server.new_bucket()
    for name, value in {
        "PGHOST": postgres_server.host,
        "PGPORT": str(postgres_server.port),
        "PGUSER": postgres_server.user,
        "PGPASSWORD": "",
        "DAGSTER_PG_DB": database.rsplit("/", 1)[1],
        "DAGSTER_COMPUTE_LOG_BUCKET": bucket,
        "WAREADER_S3_ENDPOINT_URL": moto_server.endpoint_url,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_runs() == []
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert isinstance(instance.compute_log_manager, S3ComputeLogManager)
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 2
        # a run written through this instance lands in the PostgreSQL database
        run = instance.create_run_for_job(dg.GraphDefinition("probe").to_job())
        assert instance.get_run_by_id(run.run_id) is not None


def test_the_receiver_waf_blocks_by_default_and_allows_only_the_webhook() -> None:
    import json

    acl = json.loads((DEPLOY / "aws" / "waf-receiver-rules.json").read_text())
    assert acl["DefaultAction"] == {"Block": {}}
    allowed_paths = {
        statement["ByteMatchStatement"]["SearchString"]
        for rule in acl["Rules"]
        for statement in rule["Statement"]["AndStatement"]["Statements"]
        if statement.get("ByteMatchStatement", {}).get("FieldToMatch") == {"UriPath": {}}
    }
    assert allowed_paths == {"/webhook"}
    assert all(rule["Action"] == {"Allow": {}} for rule in acl["Rules"])
