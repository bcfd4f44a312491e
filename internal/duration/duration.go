// Package duration writes durations for people: a setting as it would be
// written ("10m", "1m30s") and a measured time as it reads best ("2.1s",
// "1m05s").
package duration

import (
	"fmt"
	"strings"
	"time"
)

// Setting prints d like time.Duration.String without zero tails: "10s",
// "200ms", "1m30s", "10m", "1h". It parses back with time.ParseDuration.
func Setting(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Elapsed prints a measured time: 850ms, 2.1s, 1m05s, 1h02m.
func Elapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
