{{/*
Names and labels shared by every template.
*/}}

{{/* Chart name, overridable. */}}
{{- define "orglink-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: release-scoped, so cluster-scoped objects (ClusterRole, webhook configuration) of
two releases never collide. Truncated to 63 characters (DNS label limit of Service names).
*/}}
{{- define "orglink-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "orglink-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that select this release's pods; never change them after install. */}}
{{- define "orglink-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "orglink-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "orglink-operator.labels" -}}
helm.sh/chart: {{ include "orglink-operator.chart" . }}
{{ include "orglink-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: orglink-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "orglink-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "orglink-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "orglink-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "orglink-operator.leaseName" -}}
{{- default (include "orglink-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The Service in front of the webhook and metrics ports. */}}
{{- define "orglink-operator.serviceName" -}}
{{- include "orglink-operator.fullname" . }}
{{- end }}

{{/* The ValidatingWebhookConfiguration (cluster-scoped, so release-scoped by name). */}}
{{- define "orglink-operator.webhookConfigName" -}}
{{- printf "%s-validating" (include "orglink-operator.fullname" .) | trunc 253 }}
{{- end }}

{{- define "orglink-operator.webhookCertSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "orglink-operator.fullname" .)) .Values.webhook.certSecretName }}
{{- end }}

{{- define "orglink-operator.certificateName" -}}
{{- printf "%s-webhook" (include "orglink-operator.fullname" .) }}
{{- end }}

{{- define "orglink-operator.issuerName" -}}
{{- printf "%s-selfsigned" (include "orglink-operator.fullname" .) }}
{{- end }}

{{/* True ("true") when the operator itself manages the webhook certificate and caBundle. */}}
{{- define "orglink-operator.selfManagedCerts" -}}
{{- if and .Values.webhook.enabled (not .Values.webhook.certManager.enabled) }}true{{- end }}
{{- end }}

{{/*
Fails rendering on value combinations that cannot work, with the value to change.
*/}}
{{- define "orglink-operator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.leaderElection.enabled) }}
{{- fail (printf "replicaCount is %d but leaderElection.enabled is false: two active replicas would both write to Genesys Cloud. Set leaderElection.enabled=true or replicaCount=1." (int .Values.replicaCount)) }}
{{- end }}
{{- range .Values.watchNamespaces }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .) }}
{{- fail (printf "watchNamespaces: %q is not a valid namespace name (lower-case letters, digits and '-')." .) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
What the controllers and the webhook's caches need, and nothing more: read and update the
three kinds (no create or delete: users own them), write their status and finalizers, read
the OAuth credentials Secrets (no write), and record Events (events.k8s.io, as kube-runtime's
Recorder does).
*/}}
{{- define "orglink-operator.managerRules" -}}
- apiGroups: ["orglink.dev"]
  resources: ["organizations", "orglinks", "orgpairings"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["orglink.dev"]
  resources: ["organizations/status", "orglinks/status", "orgpairings/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["orglink.dev"]
  resources: ["organizations/finalizers", "orglinks/finalizers", "orgpairings/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
# Only to add and remove the orglink.dev/credentials-in-use finalizer on the Secret an
# Organization uses, so deleting a namespace still unlinks and revokes remotely (RBAC
# cannot narrow a patch to one field: the secret-guard ValidatingAdmissionPolicy
# (templates/secret-guard.yaml) refuses any other change it would make).
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
