{{- define "llmswitch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "llmswitch.fullname" -}}
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

{{- define "llmswitch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llmswitch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "llmswitch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "llmswitch.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "llmswitch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "llmswitch.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The router config file: the `config` values, as YAML. */}}
{{- define "llmswitch.routerConfig" -}}
{{- toYaml .Values.config }}
{{- end }}

{{/* Port names per router worker: worker 0 gets the bare name, worker i "<name>-i". */}}
{{- define "llmswitch.workerPorts" -}}
{{- $ports := list }}
{{- range $i := until (int .workers) }}
{{- $ports = append $ports (dict "name" (ternary $.name (printf "%s-%d" $.name $i) (eq $i 0)) "port" (add (int $.port) $i)) }}
{{- end }}
{{- toJson $ports }}
{{- end }}

{{- define "llmswitch.grpcPorts" -}}
{{- include "llmswitch.workerPorts" (dict "name" "grpc" "port" .Values.config.router.port "workers" .Values.config.router.workers) }}
{{- end }}

{{- define "llmswitch.metricsPorts" -}}
{{- if .Values.config.telemetry.metrics.enabled }}
{{- include "llmswitch.workerPorts" (dict "name" "metrics" "port" .Values.config.telemetry.metrics.port "workers" .Values.config.router.workers) }}
{{- else }}
{{- toJson list }}
{{- end }}
{{- end }}

{{/* The parts of the router config the generated Envoy bootstrap depends on (everything but the sections
it never reads), for the checksum that restarts pods when their Envoy config must change. */}}
{{- define "llmswitch.envoyInputs" -}}
{{- toYaml (omit .Values.config "signals" "decisions" "semantics" "budget" "health" "reload" "telemetry" "model_selection") }}
{{- end }}
