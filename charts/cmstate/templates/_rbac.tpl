{{- /* The RBAC policy templates/rbac.yaml grants: the verb table and the rules built from it. */}}

{{/*
Verbs each job needs, per resource ("resource" or "resource.group"). The single source of the RBAC
rules: templates/rbac.yaml grants the union over the enabled jobs, and test/unit/chart.test.ts
compares this table with the job descriptors (src/job/descriptors.ts), which `cmstate doctor`
checks, so a change here is deliberate. Repair creates archives, replaces states and patches the quarantine
annotation. metricsFeedback applies when jobs.metrics.readFeedback is on; everyJob as soon as any job
is enabled (the run lock and Events).
Doctor's SelfSubjectAccessReviews are granted to all authenticated users by system:basic-user.
*/}}
{{- define "cmstate.rbacVerbs" -}}
sweep:
  configmaps: [get, list, patch, delete]
repair:
  configmaps: [get, list, create, update, patch, delete]
snapshot:
  configmaps: [list]
restore:
  configmaps: [get, list, create, update]
metrics:
  configmaps: [list]
metricsFeedback:
  configmaps: [get]
everyJob:
  leases.coordination.k8s.io: [get, create, update, delete]
  events: [create]
{{- end }}

{{/*
RBAC rules for the enabled jobs: one rule per resource with the union of their verbs, sorted so a
render is stable. Empty when no job is enabled.
*/}}
{{- define "cmstate.rbacRules" -}}
{{- $table := include "cmstate.rbacVerbs" . | fromYaml }}
{{- $grants := list }}
{{- range $name, $job := .Values.jobs }}
{{- if $job.enabled }}
{{- $grants = append $grants $name }}
{{- end }}
{{- end }}
{{- if .Values.restore.enabled }}
{{- $grants = append $grants "restore" }}
{{- end }}
{{- if and .Values.jobs.metrics.enabled .Values.jobs.metrics.readFeedback }}
{{- $grants = append $grants "metricsFeedback" }}
{{- end }}
{{- if $grants }}
{{- $grants = append $grants "everyJob" }}
{{- end }}
{{- $verbs := dict }}
{{- range $grant := $grants }}
{{- range $resource, $grantVerbs := index $table $grant }}
{{- $_ := set $verbs $resource (concat (get $verbs $resource | default (list)) $grantVerbs) }}
{{- end }}
{{- end }}
{{- range $resource := keys $verbs | sortAlpha }}
{{- $parts := splitn "." 2 $resource }}
- apiGroups: [{{ $parts._1 | default "" | quote }}]
  resources: [{{ $parts._0 | quote }}]
  verbs: {{ get $verbs $resource | uniq | sortAlpha | toJson }}
{{- end }}
{{- end }}
