package main

// pluginArgs returns the arguments after the program name. When the binary
// runs as a docker CLI plugin it answers the metadata request itself.
func pluginArgs(argv []string, a *app) (args []string, handled bool, code int) {
	if len(argv) == 0 {
		return nil, false, 0
	}
	return argv[1:], false, 0
}
