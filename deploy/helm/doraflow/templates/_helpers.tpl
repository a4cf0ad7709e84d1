{{- define "doraflow.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "doraflow.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "doraflow.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "doraflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* A secret variable from existingSecret. */}}
{{- define "doraflow.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.existingSecret }}
      key: {{ required (printf "secretKeys.%s is required" .name) (index .root.Values.secretKeys .name) }}
{{- end -}}

{{/* The environment every process shares: configuration file, brokers, ClickHouse. */}}
{{- define "doraflow.env" -}}
- name: DORA_CONFIG
  value: /etc/doraflow/doraflow.yaml
- name: DORA_KAFKA_BROKERS
  value: {{ required "kafka.brokers is required" .Values.kafka.brokers | join "," | quote }}
- name: DORA_KAFKA_TOPIC
  value: {{ .Values.kafka.topic | quote }}
- name: DORA_CLICKHOUSE_ADDR
  value: {{ required "clickhouse.addr is required" .Values.clickhouse.addr | quote }}
- name: DORA_CLICKHOUSE_DATABASE
  value: {{ .Values.clickhouse.database | quote }}
- name: DORA_CLICKHOUSE_USER
  value: {{ .Values.clickhouse.username | quote }}
- name: DORA_TIME_ZONE
  value: {{ .Values.timeZone | quote }}
{{- end -}}

{{/* Pod settings every process shares. */}}
{{- define "doraflow.podSpec" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  seccompProfile:
    type: RuntimeDefault
volumes:
  - name: config
    configMap:
      name: {{ include "doraflow.fullname" . }}-config
{{- end -}}

{{- define "doraflow.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities:
    drop: [ALL]
volumeMounts:
  - name: config
    mountPath: /etc/doraflow
    readOnly: true
{{- end -}}
