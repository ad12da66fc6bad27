"""Shared data for the offering tests: the test platform's pledge.yaml and a rich request per feature."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CASES = ROOT / "tests" / "cases"
CRDS = ROOT / "tests" / "crds"
PLEDGE = (HERE / "pledge.yaml").read_bytes()
ENVS = ("dev", "staging", "prod")
TEAM = "payments"
OFFERINGS = ("namespace", "postgres", "bucket", "ci-runner", "monitoring", "dev-cluster")

_HEADER = """apiVersion: pledge.dev/{version}
kind: {kind}
metadata:
  name: {name}
  team: payments
  labels:
    cost-centre: cc-1234
"""

# offering -> {request name: (kind, spec as YAML)}; between them they use every field of every schema
# (of every version: VERSIONS names the requests that are not on v1).
RICH: dict[str, dict[str, tuple[str, str]]] = {
    "namespace": {
        "payments": ("TeamSpace", """
spec:
  description: "Payments API and workers: kind: ClusterRole, {not: yaml}"
  size: medium
  podSecurity: baseline
  access:
    role: edit
    viewerGroups: ["acme:sre-oncall", "acme:auditors"]
  network:
    allowSameNamespace: true
    ingressFromNamespaces: [ingress-nginx, payments-batch]
    egressToInternet: true
"""),
        "batch": ("TeamSpace", "spec: {}\n"),
        "ci": ("TeamSpace", """
spec:
  size: large
  podSecurity: privileged
  access:
    role: view
  network:
    allowSameNamespace: false
    egressToInternet: true
"""),
    },
    "postgres": {
        "orders": ("Postgres", """
spec:
  description: Orders and invoices
  version: 17
  instances: 3
  storage:
    size: 50Gi
    storageClass: fast-ssd
  resources:
    cpu: "2"
    memory: 4Gi
  database:
    name: orders
    owner: orders_owner
  parameters:
    max_connections: "200"
    shared_buffers: 1GB
  backup:
    enabled: true
    schedule: "0 30 1 * * *"
    retention: 14d
"""),
        "cache-db": ("Postgres", "spec: {}\n"),
        "ledger": ("Postgres", """
spec:
  namespace: payments-batch
  version: 16
  instances: 2
  resources:
    cpu: 250m
    memory: 512Mi
  backup:
    enabled: true
"""),
        # v2: everything at once (object-store backups, WAL volume, pooler, declarative databases)
        "warehouse": ("Postgres", """
spec:
  description: "Analytics warehouse: kind: Secret, {not: yaml}"
  version: 17
  instances: 3
  storage:
    size: 40Gi
    storageClass: fast-ssd
  walStorage:
    size: 10Gi
    storageClass: io2
  resources:
    cpu: "2"
    memory: 4Gi
  bootstrap:
    database: warehouse
    owner: analyst
  databases:
    reporting:
      extensions: [pg_stat_statements, pgcrypto]
      schemas: [marts, staging_area]
      reclaimPolicy: delete
    audit_log: {}
  parameters:
    max_connections: "300"
  backup:
    method: objectStore
    schedule: "0 15 3 * * *"
    retention: 8w
  pooler:
    instances: 3
    poolMode: session
    maxClientConnections: 2000
    defaultPoolSize: 25
    resources:
      cpu: 250m
      memory: 256Mi
"""),
        # v2: cold volume snapshots plus a WAL archive, a pooler with every default, WAL on the data class
        "events": ("Postgres", """
spec:
  namespace: payments-batch
  version: 16
  instances: 2
  walStorage:
    size: 5Gi
  backup:
    method: volumeSnapshot
    volumeSnapshotClass: csi-snapclass
    online: false
    walArchive: true
    schedule: "@daily"
  pooler: {}
"""),
        # v2: hot snapshots with the environment's (or the cluster's default) VolumeSnapshotClass
        "snap-db": ("Postgres", """
spec:
  backup:
    method: volumeSnapshot
"""),
        # v2: the smallest request there is
        "scratch-pg": ("Postgres", """
spec:
  version: 15
  backup:
    method: none
"""),
    },
    "bucket": {
        "assets": ("Bucket", """
spec:
  region: eu-central-1
  versioning: true
  encryption:
    algorithm: "aws:kms"
    kmsKeyArn: arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
  publicAccessBlock: true
  forceDestroy: false
  retainOnDelete: true
  tags:
    data-classification: internal
    owner: "payments@acme.example"
"""),
        "exports": ("Bucket", """
spec:
  namespace: payments-batch
  versioning: false
  encryption:
    algorithm: AES256
"""),
        "scratch": ("Bucket", "spec: {}\n"),
    },
    "ci-runner": {
        "linux": ("CIRunner", """
spec:
  githubConfigUrl: https://github.com/acme/
  githubConfigSecret: arc-github-app
  runnerScaleSetName: payments-linux
  runnerGroup: payments
  labels: [linux, x64]
  minRunners: 1
  maxRunners: 5
  image: ghcr.io/acme/actions-runner:2.328.0-acme.1
  containerMode: kubernetes
  resources:
    cpu: "2"
    memory: 4Gi
  workVolume:
    size: 20Gi
    storageClass: fast-ssd
"""),
        "docker": ("CIRunner", """
spec:
  namespace: payments-ci
  githubConfigUrl: https://github.com/acme/payments-api
  githubConfigSecret: arc-github-app
  maxRunners: 3
  containerMode: dind
"""),
        "plain": ("CIRunner", """
spec:
  githubConfigUrl: https://github.com/enterprises/acme
  githubConfigSecret: arc-github-pat
"""),
    },
    "monitoring": {
        "api": ("Monitoring", """
spec:
  scrape:
    selector:
      app.kubernetes.io/name: payments-api
      app.kubernetes.io/part-of: payments
    port: http-metrics
    path: /internal/metrics
    scheme: https
    interval: 15s
  alerts:
    - name: PaymentsApiHighErrorRate
      expr: |
        sum(rate(http_requests_total{job="payments-api",code=~"5.."}[5m]))
          / sum(rate(http_requests_total{job="payments-api"}[5m])) > 0.05
      for: 10m
      severity: critical
      summary: 'More than 5% of requests fail on {{ $labels.instance }}'
      description: 'Error ratio is {{ $value | humanizePercentage }} "now"'
      runbookUrl: https://runbooks.acme.example/payments/high-error-rate
    - name: PaymentsApiSlow
      expr: 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 1'
      summary: p99 latency above 1s
  recordingRules:
    - record: job:http_requests:rate5m
      expr: sum by (job) (rate(http_requests_total[5m]))
  dashboard:
    title: 'Payments API </script> "prod"'
    refresh: 30s
    timeRange: 24h
    panels:
      - title: Requests per second
        expr: 'sum by (code) (rate(http_requests_total{job="payments-api"}[5m]))'
        type: timeseries
        unit: reqps
        legend: "{{code}}"
        width: 12
      - title: Error ratio
        expr: job:http_requests:rate5m
        type: stat
        unit: percentunit
        width: 6
      - title: Saturation
        expr: avg(process_cpu_seconds_total)
        type: gauge
        width: 8
      - title: Top endpoints
        expr: topk(10, sum by (path) (rate(http_requests_total[5m])))
        type: table
        width: 24
      - title: Queue
        expr: sum(queue_depth)
        type: bargauge
"""),
        "worker": ("Monitoring", """
spec:
  scrape:
    selector:
      app: payments-worker
"""),
    },
    "dev-cluster": {
        "sandbox": ("DevCluster", """
spec:
  description: "Integration tests: kind: ClusterRoleBinding, {not: yaml}"
  kubernetesVersion: "1.34"
  size: medium
  storageClass: fast-ssd
  ttl: 5d
  ingress:
    enabled: true
  adminGroups: ["acme:payments", "acme:sre-oncall"]
"""),
        "scratch-k8s": ("DevCluster", "spec: {}\n"),
        "load-test": ("DevCluster", """
spec:
  namespace: payments-batch
  kubernetesVersion: "1.30"
  size: large
  ttl: 2d
"""),
    },
}


# request name -> offering version, for the rich requests not on v1
VERSIONS: dict[str, str] = {"warehouse": "v2", "events": "v2", "snap-db": "v2", "scratch-pg": "v2"}


def rich_requests(env: str) -> dict[str, bytes]:
    """requests/<env>/payments/<name>.yaml -> bytes, for every rich request."""
    out: dict[str, bytes] = {}
    for requests in RICH.values():
        for name, (kind, spec) in requests.items():
            text = _HEADER.format(kind=kind, name=name, version=VERSIONS.get(name, "v1")) + spec.lstrip("\n")
            out[f"requests/{env}/{TEAM}/{name}.yaml"] = text.encode()
    return out
