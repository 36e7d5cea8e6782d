{{/*
Command line of the operator container: `orglink-operator run` and its flags. The flag names
are the ones of src/cli/run.rs; tests/helm_chart.rs checks them against `run --help`.
*/}}
{{- define "orglink-operator.runArgs" -}}
- run
{{- if .Values.watchNamespaces }}
- --namespace={{ join "," .Values.watchNamespaces }}
{{- end }}
{{- if .Values.leaderElection.enabled }}
- --leader-elect
- --lease-name={{ include "orglink-operator.leaseName" . }}
- --lease-namespace={{ .Release.Namespace }}
{{- end }}
- --metrics-addr=0.0.0.0:{{ .Values.metrics.port }}
- --health-addr=0.0.0.0:{{ .Values.health.port }}
{{- if .Values.webhook.enabled }}
- --webhook-addr=0.0.0.0:{{ .Values.webhook.port }}
- --webhook-cert-dir={{ .Values.webhook.certDir }}
{{- else }}
- --no-webhook
{{- end }}
- --log-format={{ .Values.logFormat }}
{{- range .Values.apiBaseUrl.allow }}
- --allow-api-base-url={{ . }}
{{- end }}
{{- if .Values.apiBaseUrl.allowInsecureHttp }}
- --allow-insecure-http
{{- end }}
{{- range .Values.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/*
Self-managed certificates: before the operator starts, `orglink-operator webhook-certs`
creates (or reuses) the CA and serving certificate in the Secret, patches the caBundle of
this release's ValidatingWebhookConfiguration, and writes tls.crt/tls.key into the shared
in-memory volume. Idempotent, so replicas and restarts agree on one CA.
*/}}
{{- define "orglink-operator.webhookCertsInitContainer" -}}
- name: webhook-certs
  image: {{ include "orglink-operator.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args:
    - webhook-certs
    - --secret-name={{ include "orglink-operator.webhookCertSecretName" . }}
    - --secret-namespace={{ .Release.Namespace }}
    - --service-name={{ include "orglink-operator.serviceName" . }}
    - --service-namespace={{ .Release.Namespace }}
    - --webhook-config-name={{ include "orglink-operator.webhookConfigName" . }}
    - --cert-dir={{ .Values.webhook.certDir }}
  resources:
    {{- toYaml .Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  volumeMounts:
    - name: webhook-certs
      mountPath: {{ .Values.webhook.certDir }}
{{- end }}
