package yamlx

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ErrorPlace is where a yaml.v3 error places itself in the text it
// parsed, and what it says.
type ErrorPlace struct {
	// Line and Column are 1-based. A reader error (a character yaml.v3
	// refused) has both; a syntax error ("yaml: line N: ...") has a Line;
	// any other error neither.
	Line, Column int
	// Block is a parser error that names the block the parser was
	// reading ("did not find expected key" and the like): Line is the
	// line that block starts on or, where it starts on the first line, a
	// later line (yaml.v3 then names the line of the problem, and the
	// message cannot tell the two apart), at most the last line. So the
	// block starts on or before Line.
	Block bool
	Msg   string // the message, without "yaml: " and "line N: "
}

// parserErrors are the messages of yaml.v3's parser (parserc.go), not
// its scanner, whose line yaml.v3 counts from 0; the value tells whether
// the line is that of the block the parser was reading (the error has a
// "while parsing a ..." context) rather than the token it stopped at.
// A scanner message may start the same way ("did not find expected
// hexdecimal number"): its line is counted from 1.
var parserErrors = map[string]bool{
	"did not find expected <stream-start>":   false,
	"did not find expected <document start>": false,
	"found duplicate %YAML directive":        false,
	"found incompatible YAML document":       false,
	"found duplicate %TAG directive":         false,
	"found undefined tag handle":             false,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
}

// yamlLine reads the line out of a yaml.v3 error message (compiled on
// first use: most runs never need it).
var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// PlaceError reads where err, yaml.v3's error on data, places itself.
// err is a syntax error from decoding into a yaml.Node (which never gives
// a *yaml.TypeError).
func PlaceError(data []byte, err error) ErrorPlace {
	msg := err.Error()
	if line, col, ok := readerErrorAt(data, msg); ok {
		return ErrorPlace{Line: line, Column: col, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		block, parser := parserErrors[m[2]]
		if parser {
			// Counted from 0. Past the last line when the parser stopped
			// at the end of the text: the last line then.
			line = min(line+1, bytes.Count(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))+1)
		}
		return ErrorPlace{Line: line, Block: block, Msg: m[2]}
	}
	return ErrorPlace{Msg: strings.TrimPrefix(msg, "yaml: ")}
}
