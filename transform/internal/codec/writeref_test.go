package codec

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// The writer's scalar checks and quoting as they were before their one
// pass versions (write.go), kept as the reference write_test.go compares
// them with.

func (w *writer) literalRef(v string, indent int, comment string) {
	w.buf = append(w.buf, '|')
	if strings.HasPrefix(v, " ") || strings.HasPrefix(v, "\n") {
		w.buf = append(w.buf, '2')
	}
	body := v
	switch {
	case !strings.HasSuffix(v, "\n"):
		w.buf = append(w.buf, '-')
	case strings.HasSuffix(v, "\n\n"):
		w.buf = append(w.buf, '+')
		body = v[:len(v)-1]
	default:
		body = v[:len(v)-1]
	}
	if comment != "" {
		w.buf = append(w.buf, " "+comment...)
	}
	for _, line := range strings.Split(body, "\n") {
		w.buf = append(w.buf, '\n')
		if line != "" {
			w.indent(indent + w.step)
			w.buf = append(w.buf, line...)
		}
	}
}

func (w *writer) doubleQuotedRef(v string) {
	w.buf = append(w.buf, '"')
	for _, r := range v {
		switch r {
		case '"':
			w.buf = append(w.buf, `\"`...)
		case '\\':
			w.buf = append(w.buf, `\\`...)
		case '\n':
			w.buf = append(w.buf, `\n`...)
		case '\t':
			w.buf = append(w.buf, `\t`...)
		case '\r':
			w.buf = append(w.buf, `\r`...)
		case 0:
			w.buf = append(w.buf, `\0`...)
		case utf8.RuneError:
			w.buf = append(w.buf, `\uFFFD`...)
		default:
			if !unicode.IsPrint(r) {
				if r <= 0xFFFF {
					w.buf = append(w.buf, `\u`+leftPad(strconv.FormatInt(int64(r), 16), 4)...)
				} else {
					w.buf = append(w.buf, `\U`+leftPad(strconv.FormatInt(int64(r), 16), 8)...)
				}
				continue
			}
			w.buf = utf8.AppendRune(w.buf, r)
		}
	}
	w.buf = append(w.buf, '"')
}

func printableRef(v string) bool {
	ascii := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c >= 0x7f || (c < ' ' && c != '\n' && c != '\t') {
			ascii = false
			break
		}
	}
	if ascii {
		return true // the common case, without decoding runes
	}
	if !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func literalOKRef(v string) bool {
	if !printableRef(v) || strings.ContainsAny(v, "\r\t") || strings.TrimRight(v, "\n") == "" {
		return false
	}
	for _, line := range strings.Split(v, "\n") {
		if strings.HasSuffix(line, " ") {
			return false
		}
	}
	return true
}

func plainOKRef(v string, inFlow bool) bool {
	if v == "" || v != strings.TrimSpace(v) || strings.ContainsAny(v, "\t") {
		return false
	}
	switch v[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-', '?', ':':
		if len(v) == 1 || v[1] == ' ' {
			return false
		}
	}
	if strings.Contains(v, ": ") || strings.Contains(v, " #") || strings.HasSuffix(v, ":") {
		return false
	}
	if inFlow && strings.ContainsAny(v, ",[]{}") {
		return false
	}
	if strings.HasPrefix(v, "---") || strings.HasPrefix(v, "...") {
		return false // document markers
	}
	return v != "<<"
}

func resolvesToStringRef(v string) bool {
	if v == "" {
		return false
	}
	switch c := v[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		return !isNumber(v) && !isTimestamp(v)
	case len(v) > 5:
		return true // longer than any keyword below
	}
	switch strings.ToLower(v) {
	case "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n":
		return false
	}
	return true
}

// scalarRef is writer.scalar as it was.
func (w *writer) scalarRef(n *yaml.Node, inFlow bool, indent int) bool {
	v := n.Value
	tag := n.ShortTag()
	if tag == "!!null" && v == "" {
		w.buf = append(w.buf, "null"...)
		return false
	}
	multiline := strings.Contains(v, "\n")
	switch {
	case multiline && !inFlow && literalOKRef(v):
		w.literalRef(v, indent, n.LineComment)
		return true
	case n.Style&yaml.DoubleQuotedStyle != 0 || multiline || !printableRef(v):
		w.doubleQuotedRef(v)
	case n.Style&yaml.SingleQuotedStyle != 0:
		w.buf = append(w.buf, '\'')
		w.buf = append(w.buf, strings.ReplaceAll(v, "'", "''")...)
		w.buf = append(w.buf, '\'')
	case tag != "!!str" && tag != "!!binary":
		w.buf = append(w.buf, v...)
	case !resolvesToStringRef(v):
		w.doubleQuotedRef(v)
	case !plainOKRef(v, inFlow):
		w.buf = append(w.buf, '\'')
		w.buf = append(w.buf, strings.ReplaceAll(v, "'", "''")...)
		w.buf = append(w.buf, '\'')
	default:
		w.buf = append(w.buf, v...)
	}
	return false
}

// checkScalar compares the writer's scalar token for v (in every style,
// tag and context) with the reference's.
func checkScalar(t *testing.T, v string) {
	t.Helper()
	for _, tag := range []string{"!!str", "", "!!int", "!!null", "!!binary", "tag:yaml.org,2002:str"} {
		for _, style := range []yaml.Style{0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle, yaml.LiteralStyle} {
			n := &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Style: style, Value: v, LineComment: "# c"}
			for _, inFlow := range []bool{false, true} {
				gw, ww := writer{step: 2, seq: 2}, writer{step: 2, seq: 2}
				gc, wc := gw.scalar(n, inFlow, 4), ww.scalarRef(n, inFlow, 4)
				if got, want := string(gw.buf), string(ww.buf); got != want || gc != wc {
					t.Fatalf("scalar %q (tag %q, style %d, in flow %v):\ngot  %q %v\nwant %q %v", v, tag, style, inFlow, got, gc, want, wc)
				}
			}
		}
	}
}

// TestScalarMatchesReference checks the one-pass scalar checks and the
// quoting against the reference on words, numbers, indicators, blanks,
// line breaks, control characters, non-ASCII and invalid text.
func TestScalarMatchesReference(t *testing.T) {
	for _, v := range []string{"", " ", "x", "true", "TRUE", "Yes", "nO", "~", "null", "NULL", "off", "y", "N", "1", "-1", "0x1F", "1.5", ".inf", "2024-01-02",
		"a: b", "a:b", "a:", "a #b", "a#b", "#a", "- a", "-a", "-", "?", "? a", ":", ": a", "---", "--- a", "...", "<<", "a,b", "[a]", "{a}", "it's", "'", "\"",
		"\\", "a\tb", "\ta", "a\n", "a\nb", "a\n\n", "\na", " a\nb", "a \nb", "a\nb ", "\n", "\n\n", "a\r\nb", "a\x00b", "a\x01", "a\x7f", "héllo", "h\u00a0", "\u00a0x",
		"x\u0085", "\u2028", "✓ ok", "\U0001F600", "\U000E0001", "\xff", "a\xffb", "\ufffd", "TRUÉ", "NULL\u0130", "K", "\u212a", "a\u00e9\n\u00e9b", "é\t"} {
		checkScalar(t, v)
	}
	const alphabet = "aZ09 :#-?,[]{}'\"\\\n\t\r\x00\x7f.é\xff~"
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 30000; i++ {
		var b strings.Builder
		for j := r.IntN(8); j >= 0; j-- {
			k := r.IntN(len(alphabet))
			b.WriteByte(alphabet[k])
		}
		checkScalar(t, b.String())
	}
}

func FuzzScalar(f *testing.F) {
	for _, v := range []string{"a: b", "it's", "héllo\n", "\x00", "TRUE", "- x"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkScalar(t, v)
	})
}
