{{/*
The objects' name prefix, as config/default's namePrefix: the release name
unless fullnameOverride is set.
*/}}
{{- define "parcel-operator.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/*
The labels every object carries: config/default's app.kubernetes.io/name, and
Helm's standard labels in place of managed-by=kustomize. test/chart strips
exactly these when it compares the chart with config/default.
*/}}
{{- define "parcel-operator.labels" -}}
app.kubernetes.io/name: parcel-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
The manager's Pods, as config/default selects them. Kept to these two labels
so the chart and config/default select the same Pods; one operator runs per
cluster (its CRDs are cluster-wide).
*/}}
{{- define "parcel-operator.selectorLabels" -}}
app.kubernetes.io/name: parcel-operator
control-plane: controller-manager
{{- end }}

{{- define "parcel-operator.serviceAccountName" -}}
{{ include "parcel-operator.fullname" . }}-controller-manager
{{- end }}

{{- define "parcel-operator.webhookServiceName" -}}
{{ include "parcel-operator.fullname" . }}-webhook-service
{{- end }}
