package duration

import (
	"testing"
	"time"
)

func TestSetting(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second: "10s", 200 * time.Millisecond: "200ms", 90 * time.Second: "1m30s",
		10 * time.Minute: "10m", time.Hour: "1h", 90 * time.Minute: "1h30m",
	} {
		got := Setting(d)
		if got != want {
			t.Errorf("Setting(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("Setting(%v) = %q parses back as %v, %v", d, got, back, err)
		}
	}
}

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850 * time.Millisecond: "850ms", 2100 * time.Millisecond: "2.1s", 65 * time.Second: "1m05s", 62 * time.Minute: "1h02m", -time.Second: "0ms",
	} {
		if got := Elapsed(d); got != want {
			t.Errorf("Elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}
