package swarm

import (
	"regexp"
	"strings"
	"testing"
)

// sanitizeNameRegexp is sanitizeName as it was written with a regular
// expression.
func sanitizeNameRegexp(s string) string {
	s = regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-")
	if s == "" {
		s = "job"
	}
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	return s
}

var sanitizeCases = []string{
	"", "-", "---", "db-migrate", "DB Migrate", "a__b", "_a_", "x.y/z:1",
	"Ünïcødé job", "日本語", "a日b", "a\xffb", "\xff\xfe", "İstanbul", "K\u212a",
	"job-" + strings.Repeat("x", 38) + "-!-y", strings.Repeat("ab ", 30), "a--b", "--a--",
}

// FuzzSanitizeName checks the byte loop against the regular expression it
// replaced.
func FuzzSanitizeName(f *testing.F) {
	for _, c := range sanitizeCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := sanitizeName(s), sanitizeNameRegexp(s); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", s, got, want)
		}
	})
}
