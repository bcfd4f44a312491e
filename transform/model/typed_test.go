package model

import (
	"context"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

func TestTypedReducedFields(t *testing.T) {
	var doc yaml.Node
	src := "services:\n  api:\n    image: example/api:2.3.1\n    command: serve\n    ports: [\"8080:80\"]\n"
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	for _, need := range []Need{
		{ServiceFields: map[string]bool{"Image": true, "Ports": true}},
		{ServiceFields: map[string]bool{"Image": true}},
		{WholeService: true},
	} {
		_, svcs, err := Typed(context.Background(), doc.Content[0], []string{"api"}, need, t.TempDir(), "stack.yml")
		if err != nil {
			t.Fatal(err)
		}
		s, ok := svcs["api"].(types.ServiceConfig)
		if !ok {
			t.Fatalf("need %+v: .Service is a %T, not a types.ServiceConfig value", need, svcs["api"])
		}
		wantPorts := 1
		if need.ServiceFields != nil && !need.ServiceFields["Ports"] {
			wantPorts = 0 // not read by templates, so not built
		}
		if s.Name != "api" || s.Image != "example/api:2.3.1" || len(s.Ports) != wantPorts || (wantPorts == 1 && s.Ports[0].Target != 80) {
			t.Errorf("need %+v: got name %q image %q ports %+v", need, s.Name, s.Image, s.Ports)
		}
	}
}
