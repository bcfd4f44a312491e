package stackdiff

import (
	"fmt"
	"strings"

	"github.com/podtemplate/podtemplate/internal/linediff"
)

// unified returns a unified diff of two texts (3 lines of context), with
// the given file names in its header; "" when the texts are equal.
func unified(a, b, nameA, nameB string) string {
	if a == b {
		return ""
	}
	la, lb := splitLines(a), splitLines(b)
	ops := linediff.Lines(la, lb)
	const context = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	// Group the edits into hunks separated by more than 2*context equal
	// lines.
	for i := 0; i < len(ops); {
		if ops[i].Kind == ' ' {
			i++
			continue
		}
		start := max(i-context, 0)
		end := i
		for end < len(ops) {
			if ops[end].Kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].Kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = run
		}
		var aStart, aLen, bStart, bLen int
		aStart, bStart = ops[start].A+1, ops[start].B+1
		var body strings.Builder
		for _, op := range ops[start:end] {
			switch op.Kind {
			case ' ':
				aLen++
				bLen++
				body.WriteString(" " + la[op.A] + "\n")
			case '-':
				aLen++
				body.WriteString("-" + la[op.A] + "\n")
			case '+':
				bLen++
				body.WriteString("+" + lb[op.B] + "\n")
			}
		}
		if aLen == 0 {
			aStart--
		}
		if bLen == 0 {
			bStart--
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n%s", aStart, aLen, bStart, bLen, body.String())
		i = end
	}
	return out.String()
}

func splitLines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
