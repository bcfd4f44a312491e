// Package linediff is a longest-common-subsequence diff of lines, shared by
// `podtemplate diff` and the tests that check which lines a render changed.
package linediff

// Edit is one line of a diff: kept (' '), removed ('-') or added ('+');
// A and B are the line's index in each text (for a removed line, B is
// where it would be in the new text, and the reverse for an added one).
type Edit struct {
	Kind byte
	A, B int
}

// Lines diffs a against b. The table is quadratic, which suits texts of a
// few thousand lines at most (service definitions, test stacks).
func Lines(a, b []string) []Edit {
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []Edit
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			ops = append(ops, Edit{' ', i, j})
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, Edit{'-', i, j})
			i++
		default:
			ops = append(ops, Edit{'+', i, j})
			j++
		}
	}
	return ops
}

// Hunk is a run of changed lines: a[A0:A1] became b[B0:B1].
type Hunk struct{ A0, A1, B0, B1 int }

// Hunks groups the changed lines of Lines(a, b) into runs.
func Hunks(a, b []string) []Hunk {
	var hunks []Hunk
	open := false
	for _, e := range Lines(a, b) {
		if e.Kind == ' ' {
			open = false
			continue
		}
		if !open {
			hunks = append(hunks, Hunk{A0: e.A, A1: e.A, B0: e.B, B1: e.B})
			open = true
		}
		h := &hunks[len(hunks)-1]
		if e.Kind == '-' {
			h.A1 = e.A + 1
		} else {
			h.B1 = e.B + 1
		}
	}
	return hunks
}
