"""Render one request into Kubernetes objects with its offering's sandboxed Jinja2 templates."""

from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from bot.core.catalog import Offering
from bot.core.platform import PlatformConfig
from bot.core.report import Finding, error
from bot.core.request import Request, in_team_namespaces

MANAGED_BY = {"app.kubernetes.io/managed-by": "pledge"}
CLUSTER_SCOPED = {
    "v1/Namespace", "v1/PersistentVolume", "v1/Node", "rbac.authorization.k8s.io/v1/ClusterRole",
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding", "storage.k8s.io/v1/StorageClass",
    "apiextensions.k8s.io/v1/CustomResourceDefinition",
    "admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1/MutatingWebhookConfiguration",
    "scheduling.k8s.io/v1/PriorityClass", "networking.k8s.io/v1/IngressClass", "node.k8s.io/v1/RuntimeClass",
    "storage.k8s.io/v1/CSIDriver", "storage.k8s.io/v1/VolumeAttachment", "apiregistration.k8s.io/v1/APIService",
    "cert-manager.io/v1/ClusterIssuer", "policy/v1beta1/PodSecurityPolicy",
    "s3.aws.upbound.io/v1beta1/Bucket", "s3.aws.upbound.io/v1beta2/Bucket",
    "s3.aws.upbound.io/v1beta1/BucketVersioning", "s3.aws.upbound.io/v1beta2/BucketVersioning",
    "s3.aws.upbound.io/v1beta1/BucketServerSideEncryptionConfiguration",
    "s3.aws.upbound.io/v1beta2/BucketServerSideEncryptionConfiguration",
    "s3.aws.upbound.io/v1beta1/BucketPublicAccessBlock",
}
ALLOWED_CLUSTER_SCOPED = {"v1/Namespace"}
# the same kinds in any version (group/kind), and by convention every `Cluster<Name>` kind (ClusterPolicy,
# ClusterSecretStore…): Kubernetes ignores metadata.namespace on them, so a namespace confines nothing


def _group_kind(api: str, kind: str) -> str:
    return f"{api.rsplit('/', 1)[0]}/{kind}" if "/" in api else kind


_CLUSTER_SCOPED_GK = {_group_kind(*gvk.rsplit("/", 1)) for gvk in CLUSTER_SCOPED}
_CLUSTER_KIND = re.compile(r"^Cluster[A-Z]")
_K8S_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# characters YAML may not carry raw; JSON leaves them as they are unless told to escape everything.
# U+0085 (NEL) is one: YAML 1.1 readers (libyaml, go-yaml) take it for a line break and fold it away.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class _Dumper(yaml.CSafeDumper):
    """Block style for multi-line strings, so rendered ConfigMaps stay readable in diffs."""


def _str(dumper: yaml.CSafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(obj: Any) -> bytes:
    """Deterministic YAML bytes: key order as rendered, block style, trailing newline."""
    text = yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1_000_000)
    return text.encode()


def yaml_value(value: Any) -> str:
    """Every `{{ }}` result as a YAML flow value: no input can add keys, documents or tags."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()  # StrictUndefined: raise UndefinedError
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (int, float, str, list, tuple, dict)):
        value = str(value)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(value, ensure_ascii=False))


_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, finalize=yaml_value,
                            autoescape=False, keep_trailing_newline=True)
_ENV.filters["tojson"] = lambda v: v  # finalize already emits JSON; avoid double encoding
_ENV.filters["quote"] = lambda v: v


@dataclass
class Rendered:
    """What one request renders to: files relative to the repository, keyed by path."""

    request: Request
    objects: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)


def context(req: Request, config: PlatformConfig) -> dict[str, Any]:
    env = config.env(req.env)
    spec = req.spec
    return {
        "request": req.data,
        "spec": spec,
        "name": req.name,
        "team": req.team,
        "env": req.env,
        "offering": req.offering.name,
        "version": req.offering.version,
        "namespace": spec.get("namespace", req.team) if isinstance(spec.get("namespace"), str) else req.team,
        "environment": env.to_data() if env else {"name": req.env, "values": {}},
        "team_info": config.teams.get(req.team, {"name": req.team}),
        "config": config.data,
    }


def _compiled(offering: Offering) -> dict[str, jinja2.Template | Finding]:
    if not offering.compiled:
        for path, source in sorted(offering.templates.items()):
            try:
                offering.compiled[path] = _ENV.from_string(source)
            except jinja2.TemplateSyntaxError as exc:
                offering.compiled[path] = error(path, exc.lineno or 1, 1, "catalog.template-error",
                                                f"template syntax error: {exc.message}")
    return offering.compiled


def _template_line(path: str) -> int:
    """The template line where the current exception was raised (Jinja2 rewrites tracebacks)."""
    tb = sys.exc_info()[2]
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in ("<template>", path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_request(req: Request, config: PlatformConfig) -> tuple[Rendered, list[Finding]]:
    """Render, parse back, confine and label; catalog faults become `catalog.*` findings on the template."""
    out = Rendered(req)
    findings: list[Finding] = []
    ctx = copy.deepcopy(context(req, config))  # a template may mutate its own data, never shared state
    offering = req.offering
    for path, template in _compiled(offering).items():
        if isinstance(template, Finding):
            findings.append(template)
            continue
        try:
            text = template.render(ctx)
        except Exception as exc:
            findings.append(error(path, _template_line(path), 1, "catalog.template-error",
                                  f"rendering {req.path} failed: {type(exc).__name__}: {exc}"))
            continue
        try:
            docs = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d is not None]
        except yaml.YAMLError as exc:
            findings.append(error(path, 1, 1, "catalog.template-output",
                                  f"rendering {req.path} produced invalid YAML: {exc}"))
            continue
        for obj in docs:
            problem = _confine(obj, req, offering, config)
            if problem:
                findings.append(error(path, 1, 1, "catalog.confinement", f"rendering {req.path}: {problem}"))
                continue
            out.objects.append(_label(obj, req))
    if findings:
        return out, findings
    for obj in out.objects:
        fname = f"{out.request.folder}/{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
        if fname in out.files:
            findings.append(error(offering.schema_path, 1, 1, "catalog.confinement",
                                  f"rendering {req.path}: two objects would both be written to {fname}"))
        out.files[fname] = dump(obj)
    return out, findings


def cluster_scoped(api: str, kind: str) -> bool:
    """A kind Pledge knows is cluster-scoped, in any API version, or one named Cluster<Something>."""
    return (f"{api}/{kind}" in CLUSTER_SCOPED or _group_kind(api, kind) in _CLUSTER_SCOPED_GK
            or _CLUSTER_KIND.match(kind) is not None)


def _confine(obj: Any, req: Request, offering: Offering, config: PlatformConfig) -> str | None:
    if not isinstance(obj, dict):
        return "each rendered document must be a mapping (a Kubernetes object)"
    api, kind, meta = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
    if not isinstance(api, str) or not isinstance(kind, str) or not isinstance(meta, dict):
        return "a rendered object lacks apiVersion, kind or metadata"
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return f"a {kind} has no metadata.name"
    if not _K8S_NAME.match(name):
        return f"{kind} name {name[:80]!r} is not a Kubernetes name (lowercase RFC 1123 subdomain, <= 253 characters)"
    gvk = f"{api}/{kind}"
    if gvk not in offering.renders:
        return f"{gvk} is not in x-pledge.renders of {offering.schema_path}; declare it or stop rendering it"
    ns = meta.get("namespace")
    if cluster_scoped(api, kind):
        if ns is not None:
            return (f"cluster-scoped {gvk} {name!r} has metadata.namespace {str(ns)[:80]!r}: Kubernetes ignores it, "
                    "so it would confine nothing")
        if gvk not in ALLOWED_CLUSTER_SCOPED:
            return f"cluster-scoped {gvk} is not allowed"
        if not in_team_namespaces(req.team, name, config):
            return f"Namespace {name!r} is outside team {req.team!r} (allowed: {req.team}, {req.team}-*)"
    elif not isinstance(ns, str) or not in_team_namespaces(req.team, ns, config):
        return (f"{kind} {name!r} is in namespace {ns!r}, outside team {req.team!r} "
                f"(allowed: {req.team}, {req.team}-*)")
    return None


def _label(obj: dict[str, Any], req: Request) -> dict[str, Any]:
    meta = obj["metadata"]
    labels = dict(meta.get("labels") or {})
    labels.update(MANAGED_BY)
    labels["pledge.dev/team"] = req.team
    labels["pledge.dev/request"] = f"{req.offering.name}-{req.name}"
    annotations = dict(meta.get("annotations") or {})
    annotations["pledge.dev/source"] = req.path
    meta["labels"] = dict(sorted(labels.items()))
    meta["annotations"] = dict(sorted(annotations.items()))
    return obj
