{{- /* The pod every job runs in: security contexts, environment, the pod spec and the Job spec around it. */}}

{{/*
Pod-level security context: admitted under the "restricted" Pod Security Standard. The UID matches
the image's USER. fsGroup makes the snapshot volume writable; OnRootMismatch avoids a recursive
chown of every snapshot file on each mount.
*/}}
{{- define "cmstate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Container security context: every field the "restricted" Pod Security Standard checks, plus a
read-only root filesystem (the only writable paths are the /tmp emptyDir and the snapshot volume).
*/}}
{{- define "cmstate.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
privileged: false
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
Container environment. First the pod's identity from the downward API, outside the CMSTATE_
prefix (the CLI would read those as options): a run reports what it deleted in one Event on its
Job (the job-name and controller-uid labels the Job controller sets on its pods since Kubernetes
1.27; empty on a pod that is not a Job's, which then gets the Event itself). Options travel as
CMSTATE_<NAME> variables, which the CLI reads for every flag: the namespace when one is watched
("" = all: the caller passes --all-namespaces), the Pushgateway, then the global and the job's
own extra env (later entries win).
Takes the same dict as cmstate.podSpec.
*/}}
{{- define "cmstate.env" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
- name: JOB_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['batch.kubernetes.io/job-name']
- name: JOB_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.labels['batch.kubernetes.io/controller-uid']
{{- if .namespace }}
- name: CMSTATE_NAMESPACE
  value: {{ .namespace | quote }}
{{- end }}
{{- with .root.Values.pushgateway.url }}
- name: CMSTATE_PUSHGATEWAY
  value: {{ . | quote }}
{{- end }}
{{- with .root.Values.env }}
{{ toYaml . }}
{{- end }}
{{- with .job.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod spec shared by every pod of the chart. Takes a dict:
  root       the top-level context ($)
  job        the values entry: env, resources, nodeSelector, tolerations, affinity
  name       the component (job name, "doctor", ...)
  namespace  the watched namespace, "" for all
  command    the CLI words before the options, e.g. (list "sweep")
  args       the command's own flags
  allNamespaces      append --all-namespaces (job commands only)
  snapshots          mount the snapshot volume at /var/lib/cmstate/snapshots
  withoutServiceAccount  run as the namespace's default ServiceAccount without a token (the
                     post-delete hook: the release's ServiceAccount is already deleted then)
*/}}
{{- define "cmstate.podSpec" -}}
{{- $root := .root }}
{{- $args := concat .command (list "--output" $root.Values.output "--log-level" $root.Values.logLevel) .args }}
{{- if .allNamespaces }}
{{- $args = append $args "--all-namespaces" }}
{{- end -}}
restartPolicy: Never
{{- if .withoutServiceAccount }}
automountServiceAccountToken: false
{{- else }}
serviceAccountName: {{ include "cmstate.serviceAccountName" $root }}
{{- end }}
securityContext:
  {{- include "cmstate.podSecurityContext" . | nindent 2 }}
{{- with $root.Values.image.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .job.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .job.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .job.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: cmstate
    image: {{ include "cmstate.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      {{- toYaml $args | nindent 6 }}
    {{- with include "cmstate.env" . | trim }}
    env:
      {{- . | nindent 6 }}
    {{- end }}
    {{- with .job.resources }}
    resources:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    securityContext:
      {{- include "cmstate.containerSecurityContext" . | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
      {{- if .snapshots }}
      - name: snapshots
        mountPath: /var/lib/cmstate/snapshots
      {{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
  {{- if .snapshots }}
  - name: snapshots
    persistentVolumeClaim:
      claimName: {{ include "cmstate.snapshotsClaimName" $root }}
  {{- end }}
{{- end }}

{{/*
Job spec shared by the CronJobs' jobTemplate, the restore Job and the Pushgateway cleanup hook.
Takes the cmstate.podSpec dict, plus shards (> 1: an Indexed Job of that many pods; the caller passes
--shard-count in args, and the CLI reads each pod's index from JOB_COMPLETION_INDEX). The job's
backoffLimit, activeDeadlineSeconds and ttlSecondsAfterFinished come from .job.
The pod failure policy fails the Job at once on exit codes 2 (usage) and 3 (refused by a safety
rule), since a retry would fail the same way, and retries a pod evicted by a node drain without
counting it against backoffLimit. It is rendered from Kubernetes 1.31 only: podFailurePolicy and the
DisruptionTarget pod condition went GA there, and before that they are beta feature gates an
administrator may turn off. Without it the Job still works, with plain backoffLimit retries: a retry
after exit code 2 or 3 just fails the same way. The "-0" admits vendor versions such as v1.32.13-gke.1200, which
semver treats as pre-releases of 1.32.13.
*/}}
{{- define "cmstate.jobSpec" -}}
{{- $shards := int .shards -}}
backoffLimit: {{ .job.backoffLimit | int }}
{{- if not (kindIs "invalid" .job.activeDeadlineSeconds) }}
activeDeadlineSeconds: {{ .job.activeDeadlineSeconds | int }}
{{- end }}
{{- if not (kindIs "invalid" .job.ttlSecondsAfterFinished) }}
ttlSecondsAfterFinished: {{ .job.ttlSecondsAfterFinished | int }}
{{- end }}
{{- if gt $shards 1 }}
completionMode: Indexed
completions: {{ $shards }}
parallelism: {{ $shards }}
{{- end }}
{{- if semverCompare ">=1.31.0-0" .root.Capabilities.KubeVersion.Version }}
podFailurePolicy:
  rules:
    - action: FailJob
      onExitCodes:
        containerName: cmstate
        operator: In
        values: [2, 3]
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
{{- end }}
template:
  metadata:
    labels:
      {{- include "cmstate.labels" .root | nindent 6 }}
      app.kubernetes.io/component: {{ .name }}
  spec:
    {{- include "cmstate.podSpec" . | nindent 4 }}
{{- end }}
