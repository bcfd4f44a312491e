{{- define "common.labels" -}}
com.example.team: {{ .Args.Team | quote }}
com.example.service: {{ .Service.Name | quote }}
{{- end -}}
