package madv

import "testing"

func TestHugePagesAllowed(t *testing.T) {
	for _, c := range []struct {
		godebug string
		want    bool
	}{
		{"", true},
		{"disablethp=1", false},
		{"gctrace=1,disablethp=1", false},
		{"disablethp=1,gctrace=1", false},
		{"disablethp=1,disablethp=0", true},
		{"disablethp=0,disablethp=1", false},
		{"disablethp=10", true},
		{"xdisablethp=1", true},
	} {
		t.Setenv("GODEBUG", c.godebug)
		if got := HugePagesAllowed(); got != c.want {
			t.Errorf("GODEBUG=%q: HugePagesAllowed() = %v, want %v", c.godebug, got, c.want)
		}
	}
}
