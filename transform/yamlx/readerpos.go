package yamlx

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// readerErrors are yaml.v3's messages for a character its reader refuses.
// They carry no position: yaml.v3 reports only the byte offset, which its
// error message leaves out.
var readerErrors = []string{
	"control characters are not allowed",
	"invalid leading UTF-8 octet",
	"incomplete UTF-8 octet sequence",
	"invalid trailing UTF-8 octet",
	"invalid length of a UTF-8 sequence",
	"invalid Unicode character",
}

// readerErrorAt finds where in data the character that yaml.v3's reader
// refused (msg is its error message, with or without the "yaml: "
// prefix) stands: the first byte that is not UTF-8 or a character YAML
// does not allow (NUL and the other control characters but tab, line
// feed and carriage return). It returns its 1-based line and column
// (counted in characters) and false when msg is not such an error or the
// input is not UTF-8 (a UTF-16 byte order mark).
func readerErrorAt(data []byte, msg string) (line, col int, ok bool) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	known := false
	for _, e := range readerErrors {
		known = known || msg == e
	}
	if !known || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return 0, 0, false
	}
	line, col = 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || !yamlChar(r) {
			return line, col, true
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return 0, 0, false
}

// yamlChar reports whether YAML (yaml.v3's reader) allows r in a stream.
func yamlChar(r rune) bool {
	switch {
	case r == 0x09, r == 0x0A, r == 0x0D:
	case r >= 0x20 && r <= 0x7E:
	case r == 0x85:
	case r >= 0xA0 && r <= 0xD7FF:
	case r >= 0xE000 && r <= 0xFFFD:
	case r >= 0x10000 && r <= 0x10FFFF:
	default:
		return false
	}
	return true
}
