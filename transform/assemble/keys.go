package assemble

// MovesToComponent reports whether the pod build carries the service key
// into the main component, so it never reaches docker on the controller.
func MovesToComponent(key string) bool { return mainComponentKey(key) }
