{{- /* The snapshot volume: which jobs mount it, and its claim. */}}

{{/*
The jobs that mount the snapshot volume, space-separated: the one list cronjobs.yaml,
restore-job.yaml and cmstate.usesSnapshots read. repair saves what it changes, snapshot writes
snapshots, restore reads them.
*/}}
{{- define "cmstate.snapshotJobs" -}}
repair snapshot restore
{{- end }}

{{/*
"true" when a pod mounts the snapshot volume (one of cmstate.snapshotJobs is enabled), else "".
The restore is .Values.restore, the others entries of .Values.jobs.
*/}}
{{- define "cmstate.usesSnapshots" -}}
{{- $enabled := false }}
{{- range $name := splitList " " (include "cmstate.snapshotJobs" $) }}
{{- $job := eq $name "restore" | ternary $.Values.restore (get $.Values.jobs $name) }}
{{- if and $job $job.enabled }}
{{- $enabled = true }}
{{- end }}
{{- end }}
{{- if $enabled }}true{{ end }}
{{- end }}

{{/*
The snapshot volume's claim: the existing one, or the one templates/pvc.yaml creates.
*/}}
{{- define "cmstate.snapshotsClaimName" -}}
{{- default (printf "%s-snapshots" (include "cmstate.fullname" .)) .Values.snapshots.existingClaim }}
{{- end }}
