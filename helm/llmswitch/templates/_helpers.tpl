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

{{/* Router processes per pod. `auto` is resolved here, from the router container's CPU limit (else its
request; rounded down, at least 1, at most 64; 1 when spend budgets live in memory, as the router does), so
the router, the Envoy config generated at pod start and the ports below all agree on the count whatever
node the pod lands on. */}}
{{- define "llmswitch.workers" -}}
{{- $workers := .Values.config.router.workers }}
{{- $budget := .Values.config.budget | default dict }}
{{- $memoryBudget := and (dig "limits" list $budget) (ne (dig "store" "type" "memory" $budget) "redis") }}
{{- if and (eq (toString $workers) "auto") $memoryBudget }}
{{- 1 }}
{{- else if eq (toString $workers) "auto" }}
{{- $resources := .Values.resources | default dict }}
{{- $cpu := dig "limits" "cpu" (dig "requests" "cpu" "" $resources) $resources | toString }}
{{- $count := 1 }}
{{- if hasSuffix "m" $cpu }}
{{- $count = div (trimSuffix "m" $cpu | atoi) 1000 }}
{{- else if $cpu }}
{{- $count = floor $cpu | int }}
{{- end }}
{{- min 64 (max 1 $count) }}
{{- else }}
{{- $workers }}
{{- end }}
{{- end }}

{{/* The router config file: the `config` values, as YAML, with router.workers resolved. */}}
{{- define "llmswitch.config" -}}
{{- $config := deepCopy .Values.config }}
{{- $_ := set $config.router "workers" (include "llmswitch.workers" . | int) }}
{{- toJson $config }}
{{- end }}

{{- define "llmswitch.routerConfig" -}}
{{- include "llmswitch.config" . | fromJson | toYaml }}
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
{{- include "llmswitch.workerPorts" (dict "name" "grpc" "port" .Values.config.router.port "workers" (include "llmswitch.workers" .)) }}
{{- end }}

{{- define "llmswitch.metricsPorts" -}}
{{- if .Values.config.telemetry.metrics.enabled }}
{{- include "llmswitch.workerPorts" (dict "name" "metrics" "port" .Values.config.telemetry.metrics.port "workers" (include "llmswitch.workers" .)) }}
{{- else }}
{{- toJson list }}
{{- end }}
{{- end }}

{{/* The parts of the router config the generated Envoy bootstrap depends on (everything but the sections
it never reads), for the checksum that restarts pods when their Envoy config must change. */}}
{{- define "llmswitch.envoyInputs" -}}
{{- toYaml (omit (include "llmswitch.config" . | fromJson) "signals" "decisions" "semantics" "budget" "health" "reload" "telemetry" "model_selection") }}
{{- end }}
