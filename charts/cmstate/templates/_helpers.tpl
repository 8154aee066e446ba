{{/*
Chart name, overridable with nameOverride. Truncated to 63 chars: label values and DNS names are limited to that.
*/}}
{{- define "cmstate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every resource name: "<release>-<chart>", or the release name alone when it already contains
the chart name (so `helm install cmstate` gives "cmstate-sweep", not "cmstate-cmstate-sweep").
*/}}
{{- define "cmstate.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label ("+" is not allowed in label values).
*/}}
{{- define "cmstate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels on every resource.
*/}}
{{- define "cmstate.labels" -}}
helm.sh/chart: {{ include "cmstate.chart" . }}
{{ include "cmstate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cmstate
{{- end }}

{{/*
Labels that identify this release's objects; stable across upgrades, so they are safe in selectors.
*/}}
{{- define "cmstate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cmstate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The ServiceAccount every job pod runs as.
*/}}
{{- define "cmstate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cmstate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference; the tag defaults to the chart's appVersion, which equals the package version.
*/}}
{{- define "cmstate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The namespace scopes the chart deploys per-namespace objects for, as {namespaces: [...]} (fromYaml
returns a map). "" stands for every namespace (allNamespaces); no list means the release namespace.
*/}}
{{- define "cmstate.scopes" -}}
{{- if .Values.allNamespaces }}
namespaces: [""]
{{- else if .Values.namespaces }}
namespaces: {{ .Values.namespaces | toJson }}
{{- else }}
namespaces: [{{ .Release.Namespace | quote }}]
{{- end }}
{{- end }}

{{/*
Name of a per-job object: "<fullname>-<name>", plus "-<namespace>" when several namespaces are
watched (one object per namespace). At most 52 chars, the CronJob limit (the controller appends
a timestamp to Job names): a longer name shortens the fullname part and inserts a hash of the whole
name, keeping the job and namespace readable and the name unique.
Takes a dict: root, name, namespace.
*/}}
{{- define "cmstate.resourceName" -}}
{{- $fullname := include "cmstate.fullname" .root }}
{{- $suffix := printf "-%s" .name }}
{{- if gt (len .root.Values.namespaces) 1 }}
{{- $suffix = printf "%s-%s" $suffix .namespace }}
{{- end }}
{{- $name := printf "%s%s" $fullname $suffix }}
{{- if gt (len $name) 52 }}
{{- $hash := $name | sha256sum | trunc 8 }}
{{- $keep := int (sub 43 (len $suffix)) }}
{{- if gt $keep 0 }}
{{- $name = printf "%s-%s%s" ($fullname | trunc $keep | trimSuffix "-") $hash $suffix }}
{{- else }}
{{- $name = printf "%s-%s" ($name | trunc 43 | trimSuffix "-") $hash }}
{{- end }}
{{- end }}
{{- $name }}
{{- end }}
