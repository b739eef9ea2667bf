{{/*
The Envoy bootstrap, rendered from .Values.config. It mirrors envoy_bootstrap() in
src/llmswitch/envoy_config.py exactly, probe listener and loopback router cluster included;
tests/helm/test_envoy_equivalence.py asserts that the two are equal.
*/}}

{{/* A protobuf Duration in fixed-point seconds, as _duration() writes it: 600s, 0.35s, 1000000s
(never 1e+06s, which Envoy rejects). */}}
{{- define "llmswitch.envoy.duration" -}}
{{- regexReplaceAll "0+$" (printf "%.9f" (float64 .)) "" | trimSuffix "." }}s
{{- end }}

{{/* "true" when the host is an IP address (IPv4 dotted quad, or IPv6), "" for a DNS name. */}}
{{- define "llmswitch.envoy.isIP" -}}
{{- $octet := "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])" }}
{{- if or (regexMatch (printf "^(%s\\.){3}%s$" $octet $octet) .) (contains ":" .) }}true{{ end }}
{{- end }}

{{/* model_<name>, with every character outside [A-Za-z0-9_.-] replaced by "_". */}}
{{- define "llmswitch.envoy.modelCluster" -}}
model_{{ regexReplaceAll "[^A-Za-z0-9_.-]" . "_" }}
{{- end }}

{{/* A cluster: dict with name, endpoints (list of dict host, port), http2 (bool), sni (string or ""),
outlier (routing.outlier_detection, or nil). */}}
{{- define "llmswitch.envoy.cluster" -}}
{{- $static := true }}
{{- range .endpoints }}
{{- if not (include "llmswitch.envoy.isIP" .host) }}{{ $static = false }}{{ end }}
{{- end -}}
- name: {{ .name | toJson }}
  type: {{ ternary "STATIC" "STRICT_DNS" $static }}
  connect_timeout: 2s
  lb_policy: ROUND_ROBIN
  circuit_breakers:
    thresholds:
    - max_connections: 100000
      max_pending_requests: 100000
      max_requests: 100000
  load_assignment:
    cluster_name: {{ .name | toJson }}
    endpoints:
    - lb_endpoints:
      {{- range .endpoints }}
      - endpoint:
          address:
            socket_address:
              address: {{ .host | toJson }}
              port_value: {{ .port }}
          {{- if not (include "llmswitch.envoy.isIP" .host) }}
          hostname: {{ .host | toJson }}
          {{- end }}
      {{- end }}
  {{- if .http2 }}
  typed_extension_protocol_options:
    envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
      '@type': type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
      explicit_http_config:
        http2_protocol_options: {}
  {{- end }}
  {{- if and .outlier .outlier.enabled }}
  outlier_detection:
    consecutive_5xx: {{ int .outlier.consecutive_5xx }}
    interval: {{ include "llmswitch.envoy.duration" .outlier.interval_s }}
    base_ejection_time: {{ include "llmswitch.envoy.duration" .outlier.base_ejection_time_s }}
    max_ejection_percent: 100
  {{- end }}
  {{- if .sni }}
  transport_socket:
    name: envoy.transport_sockets.tls
    typed_config:
      '@type': type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
      sni: {{ .sni | toJson }}
  {{- end }}
{{- end }}

{{- define "llmswitch.envoy.localReplyMapper" -}}
- filter:
    status_code_filter:
      comparison:
        op: EQ
        value:
          default_value: {{ .status }}
          runtime_key: llmswitch.local_reply.{{ .status }}
  body_format_override:
    json_format:
      error:
        message: {{ .message | toJson }}
        type: {{ .type }}
        code: {{ .code }}
    content_type: application/json
{{- end }}

{{/* The route fields both routes share: timeout, host rewrite, retries. */}}
{{- define "llmswitch.envoy.upstream" -}}
{{- $retries := .retries -}}
timeout: {{ include "llmswitch.envoy.duration" .request_timeout_s }}
auto_host_rewrite: true
retry_policy:
  retry_on: {{ $retries.retry_on | toJson }}
  num_retries: {{ int $retries.num_retries }}
  retriable_status_codes: {{ $retries.retriable_status_codes | toJson }}
  {{- if $retries.per_try_timeout_s }}
  per_try_timeout: {{ include "llmswitch.envoy.duration" $retries.per_try_timeout_s }}
  {{- end }}
{{- end }}

{{- define "llmswitch.envoy.bootstrap" -}}
{{- $config := .Values.config }}
{{- $listener := $config.listener }}
{{- $router := $config.router }}
{{- $routing := $config.routing }}
{{- /* listener.probe_port set (not null): the envoy_probe listener and its envoy_admin cluster. */}}
{{- $probe := not (kindIs "invalid" $listener.probe_port) }}
{{- $routerHost := $router.address }}
{{- /* A router bound to every interface is reached over loopback (the sidecar case). */}}
{{- if eq $routerHost "0.0.0.0" }}{{ $routerHost = "127.0.0.1" }}{{ end }}
{{- if eq $routerHost "::" }}{{ $routerHost = "::1" }}{{ end }}
{{- $routerEndpoints := list }}
{{- range $i := until (int $router.workers) }}
{{- $routerEndpoints = append $routerEndpoints (dict "host" $routerHost "port" (add (int $router.port) $i)) }}
{{- end -}}
admin:
  address:
    socket_address:
      address: 127.0.0.1
      port_value: {{ int $listener.admin_port }}
static_resources:
  listeners:
  - name: llmswitch_listener
    address:
      socket_address:
        address: {{ $listener.address | toJson }}
        port_value: {{ int $listener.port }}
    per_connection_buffer_limit_bytes: {{ int64 $router.max_body_bytes }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: llmswitch
          codec_type: AUTO
          max_request_headers_kb: {{ $routing.max_request_headers_kb }}
          common_http_protocol_options:
            max_headers_count: {{ $routing.max_request_headers }}
          early_header_mutation_extensions:
          - name: envoy.http.early_header_mutation.header_mutation
            typed_config:
              '@type': type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation
              mutations:
              {{- range list $routing.cluster_header "x-selected-model" "x-llmswitch-decision" "x-llmswitch-budget" "x-llmswitch-cache-key" }}
              - remove: {{ . | toJson }}
              {{- end }}
          route_config:
            name: llmswitch_routes
            virtual_hosts:
            - name: llm
              domains: ['*']
              routes:
              - name: routed
                match:
                  prefix: /
                  headers:
                  - name: {{ $routing.cluster_header | toJson }}
                    present_match: true
                route:
                  cluster_header: {{ $routing.cluster_header | toJson }}
                  {{- include "llmswitch.envoy.upstream" $routing | nindent 18 }}
              - name: default_model
                match:
                  prefix: /
                route:
                  cluster: {{ include "llmswitch.envoy.modelCluster" $config.default_model | toJson }}
                  {{- include "llmswitch.envoy.upstream" $routing | nindent 18 }}
            # Internal to Envoy and the router: the observer reads them, the model never sees them.
            request_headers_to_remove:
            - x-llmswitch-budget
            - x-llmswitch-cache-key
            {{- if $routing.response_headers }}
            # The routing result, copied from the routed request into the client's response.
            response_headers_to_add:
            - header:
                key: x-llmswitch-model
                value: '%REQ(x-selected-model)%'
              append_action: OVERWRITE_IF_EXISTS_OR_ADD
            - header:
                key: x-llmswitch-decision
                value: '%REQ(x-llmswitch-decision)%'
              append_action: OVERWRITE_IF_EXISTS_OR_ADD
            {{- end }}
          http_filters:
          - name: envoy.filters.http.ext_proc
            typed_config:
              '@type': type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
              grpc_service:
                envoy_grpc:
                  cluster_name: llmswitch_router
              failure_mode_allow: {{ $routing.failure_mode_allow }}
              status_on_error:
                code: ServiceUnavailable
              message_timeout: {{ include "llmswitch.envoy.duration" (divf $routing.message_timeout_ms 1000) }}
              processing_mode:
                request_header_mode: SEND
                request_body_mode: BUFFERED
                request_trailer_mode: SKIP
                response_header_mode: SKIP
                response_body_mode: NONE
                response_trailer_mode: SKIP
          {{- if $config.accounting.enabled }}
          # Sees routed requests and their responses without holding them: usage, cost, health, budgets.
          - name: llmswitch.response_observer
            typed_config:
              '@type': type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
              grpc_service:
                envoy_grpc:
                  cluster_name: llmswitch_router
              observability_mode: true
              failure_mode_allow: true
              processing_mode:
                request_header_mode: SEND
                request_body_mode: NONE
                request_trailer_mode: SKIP
                response_header_mode: SEND
                response_body_mode: STREAMED
                response_trailer_mode: SKIP
          {{- end }}
          - name: envoy.filters.http.router
            typed_config:
              '@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          local_reply_config:
            mappers:
            {{- include "llmswitch.envoy.localReplyMapper" (dict "status" 413 "type" "invalid_request_error" "code" "request_too_large" "message" "The request body exceeds the size limit.") | nindent 12 }}
            {{- include "llmswitch.envoy.localReplyMapper" (dict "status" 502 "type" "server_error" "code" "bad_gateway" "message" "The model server failed: %RESPONSE_CODE_DETAILS%") | nindent 12 }}
            {{- include "llmswitch.envoy.localReplyMapper" (dict "status" 503 "type" "server_error" "code" "service_unavailable" "message" "Service unavailable: %RESPONSE_CODE_DETAILS%") | nindent 12 }}
            {{- include "llmswitch.envoy.localReplyMapper" (dict "status" 504 "type" "server_error" "code" "timeout" "message" "Timed out: %RESPONSE_CODE_DETAILS%") | nindent 12 }}
  {{- if $probe }}
  # GET /ready from the admin interface, 404 for everything else: the admin API stays private.
  - name: envoy_probe
    address:
      socket_address:
        address: {{ $listener.address | toJson }}
        port_value: {{ int $listener.probe_port }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          '@type': type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: envoy_probe
          codec_type: AUTO
          route_config:
            name: envoy_probe
            virtual_hosts:
            - name: probe
              domains: ['*']
              routes:
              - match:
                  path: /ready
                route:
                  cluster: envoy_admin
              - match:
                  prefix: /
                direct_response:
                  status: 404
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              '@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  {{- end }}
  clusters:
  {{- include "llmswitch.envoy.cluster" (dict "name" "llmswitch_router" "endpoints" $routerEndpoints "http2" true "sni" "") | nindent 2 }}
  {{- range $config.models }}
  {{- $host := regexReplaceAll ":[0-9]+$" .endpoint "" | trimAll "[]" }}
  {{- $port := regexFind "[0-9]+$" .endpoint | atoi }}
  {{- $sni := "" }}
  {{- if .tls }}{{ $sni = $host }}{{ end }}
  {{- include "llmswitch.envoy.cluster" (dict "name" (include "llmswitch.envoy.modelCluster" .name) "endpoints" (list (dict "host" $host "port" $port)) "http2" false "sni" $sni "outlier" $config.routing.outlier_detection) | nindent 2 }}
  {{- end }}
  {{- if $probe }}
  {{- include "llmswitch.envoy.cluster" (dict "name" "envoy_admin" "endpoints" (list (dict "host" "127.0.0.1" "port" (int $listener.admin_port))) "http2" false "sni" "") | nindent 2 }}
  {{- end }}
{{- /* Envoy waits for the router's status instead of resetting ext_proc streams (see envoy_config.RUNTIME_FLAGS). */}}
layered_runtime:
  layers:
  - name: static
    static_layer:
      envoy.reloadable_features.ext_proc_graceful_grpc_close: true
{{- end }}
