"""Extract the OpenAPI schemas of the CRDs the bundled renderers (and the Flux layout) emit, for the tests.

Reads (read-only, from the shared research folders; never at test time):
  /work/shared/schemas/crds/*.yaml   upstream CustomResourceDefinitions (see that folder's README)
  /work/shared/schemas/flux/*.yaml   upstream Flux CustomResourceDefinitions

Writes into tests/crds/:
  <crd file stem>.json   for each CRD in CRDS: its group, kind, plural, scope and, per served version,
                         `spec.versions[].schema.openAPIV3Schema` with every schema's `description`
                         keyword removed (nothing else changes: the validation keywords are exact).
                         Compact, key-sorted JSON, so re-running on the same input gives the same bytes.
  SOURCES.json           upstream repository, path, commit and the sha256 of every source file.

The whole ARC AutoscalingRunnerSet CRD is 1.2 MB (it embeds a PodTemplateSpec twice, with descriptions);
the extract is a fraction of that. The licence notes are in tests/crds/README.md (keep them in sync).

Run: python scripts/copy_crds.py [--crds /work/shared/schemas/crds] [--flux /work/shared/schemas/flux]
                                 [--out tests/crds] [--check]
`--check` writes nothing and exits 1 when tests/crds differs from what the sources give.
Add a CRD to CRDS when a renderer starts emitting its kind, then re-run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

CNPG = ("github.com/cloudnative-pg/cloudnative-pg", "config/crd/bases/", "a95a534dbe0854495b863bbc1b7651f74d310916")
ARC = ("github.com/actions/actions-runner-controller", "charts/gha-runner-scale-set-controller/crds/",
       "2ee6b3b8e8d2781c2f2bd4f0033fbb436465c5c1")
UPJET = ("github.com/crossplane-contrib/provider-upjet-aws", "package/crds/",
         "75a4c57162d00616f8fb480f9153df5fa55b5a26")
PROM = ("github.com/prometheus-operator/prometheus-operator", "example/prometheus-operator-crd/",
        "6adcebc5076c34f4f55f8f5f7b1e528929373ac7")
FLUX_KUSTOMIZE = ("github.com/fluxcd/kustomize-controller", "config/crd/bases/",
                  "186fb3b29138ce82ff61ba1a9370b96a3dd598fe")
FLUX_SOURCE = ("github.com/fluxcd/source-controller", "config/crd/bases/",
               "39b711b111fa906c3db0a424e252a5d12e48646d")
FLUX_NOTIFICATION = ("github.com/fluxcd/notification-controller", "config/crd/bases/",
                     "2e46958a67f3af0e3e755a4fcaf7397d5803725e")
FLUX_HELM = ("github.com/fluxcd/helm-controller", "config/crd/bases/", "0f61a8607a62be64638f2f912d9487e653960a6e")

# (source folder: "crds" or "flux", file name, upstream (repo, folder, commit))
CRDS: list[tuple[str, str, tuple[str, str, str]]] = [
    ("crds", "postgresql.cnpg.io_clusters.yaml", CNPG),
    ("crds", "postgresql.cnpg.io_scheduledbackups.yaml", CNPG),
    ("crds", "postgresql.cnpg.io_poolers.yaml", CNPG),
    ("crds", "postgresql.cnpg.io_databases.yaml", CNPG),
    ("crds", "actions.github.com_autoscalingrunnersets.yaml", ARC),
    ("crds", "s3.aws.m.upbound.io_buckets.yaml", UPJET),
    ("crds", "s3.aws.m.upbound.io_bucketversionings.yaml", UPJET),
    ("crds", "s3.aws.m.upbound.io_bucketserversideencryptionconfigurations.yaml", UPJET),
    ("crds", "s3.aws.m.upbound.io_bucketpublicaccessblocks.yaml", UPJET),
    ("crds", "monitoring.coreos.com_servicemonitors.yaml", PROM),
    ("crds", "monitoring.coreos.com_prometheusrules.yaml", PROM),
    ("flux", "kustomize.toolkit.fluxcd.io_kustomizations.yaml", FLUX_KUSTOMIZE),
    ("flux", "source.toolkit.fluxcd.io_gitrepositories.yaml", FLUX_SOURCE),
    ("flux", "notification.toolkit.fluxcd.io_providers.yaml", FLUX_NOTIFICATION),
    ("flux", "notification.toolkit.fluxcd.io_alerts.yaml", FLUX_NOTIFICATION),
    ("flux", "helm.toolkit.fluxcd.io_helmreleases.yaml", FLUX_HELM),
    ("flux", "source.toolkit.fluxcd.io_helmrepositories.yaml", FLUX_SOURCE),
    ("flux", "source.toolkit.fluxcd.io_ocirepositories.yaml", FLUX_SOURCE),
]

_SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
               "propertyNames", "additionalItems", "unevaluatedProperties", "unevaluatedItems")


def strip_descriptions(schema: Any) -> Any:
    """The schema without `description` keywords, walking only schema positions (a property may be
    called `description`, as CNPG's Cluster.spec.description is)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "description":
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: strip_descriptions(v) for k, v in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [strip_descriptions(v) for v in value]
        elif key in _SCHEMA_ONE:
            out[key] = strip_descriptions(value)
        else:
            out[key] = value
    return out


def extract(raw: bytes) -> dict[str, Any]:
    crd = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    spec = crd["spec"]
    versions = {
        v["name"]: strip_descriptions(v["schema"]["openAPIV3Schema"])
        for v in spec["versions"]
        if v.get("served") and "schema" in v
    }
    return {
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "plural": spec["names"]["plural"],
        "scope": spec["scope"],
        "versions": versions,
    }


def dumps(data: Any) -> bytes:
    return (json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def build(crds_dir: Path, flux_dir: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    sources: dict[str, Any] = {}
    for folder, name, (repo, path, commit) in CRDS:
        src = (crds_dir if folder == "crds" else flux_dir) / name
        raw = src.read_bytes()
        out_name = name.removesuffix(".yaml") + ".json"
        files[out_name] = dumps(extract(raw))
        sources[out_name] = {
            "repository": repo,
            "path": path + name,
            "commit": commit,
            "sha256": hashlib.sha256(raw).hexdigest(),
            "bytes": len(raw),
        }
    files["SOURCES.json"] = (json.dumps(sources, sort_keys=True, indent=2) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crds", type=Path, default=Path("/work/shared/schemas/crds"))
    parser.add_argument("--flux", type=Path, default=Path("/work/shared/schemas/flux"))
    parser.add_argument("--out", type=Path, default=root / "tests" / "crds")
    parser.add_argument("--check", action="store_true", help="exit 1 if --out is not up to date")
    args = parser.parse_args(argv)
    files = build(args.crds, args.flux)
    stale = sorted(n for n, data in files.items()
                   if not (args.out / n).is_file() or (args.out / n).read_bytes() != data)
    if args.check:
        for name in stale:
            print(f"{args.out / name} is out of date; run scripts/copy_crds.py", file=sys.stderr)
        return 1 if stale else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (args.out / name).write_bytes(files[name])
        print(f"wrote {args.out / name} ({len(files[name]):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
