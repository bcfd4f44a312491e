{{- define "common.labels" -}}
team: {{ .Args.Team | quote }}
service: {{ .Service.Name | quote }}
{{- end -}}
