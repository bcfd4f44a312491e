package yamlx

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// ErrorPlace is where a yaml.v3 error places itself in the text it
// parsed, and what it says.
type ErrorPlace struct {
	// Line and Column are 1-based. A reader error (a character yaml.v3
	// refused) has both; a syntax error ("yaml: line N: ...") has a Line;
	// any other error neither.
	Line, Column int
	// Block is a parser error ("did not find expected ..."), whose line
	// yaml.v3 counts from 0: Line is one more than the error says, the
	// line of the block the parser was reading (or the last line, where
	// the block runs to the end).
	Block bool
	Msg   string // the message, without "yaml: " and "line N: "
}

// yamlLine reads the line out of a yaml.v3 error message (compiled on
// first use: most runs never need it).
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// PlaceError reads where err, yaml.v3's error on data, places itself.
func PlaceError(data []byte, err error) ErrorPlace {
	msg := err.Error()
	if line, col, ok := ReaderErrorAt(data, msg); ok {
		return ErrorPlace{Line: line, Column: col, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		// yaml.v3 counts a parser error's line from 0 (scanner errors
		// from 1); its parser messages are the "did not find expected" ones.
		block := strings.HasPrefix(m[2], "did not find expected ")
		if block {
			// Past the last line when the block runs to the end of the
			// text (the parser names the end then): the last line.
			line = min(line+1, bytes.Count(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))+1)
		}
		return ErrorPlace{Line: line, Block: block, Msg: m[2]}
	}
	return ErrorPlace{Msg: strings.TrimPrefix(msg, "yaml: ")}
}
