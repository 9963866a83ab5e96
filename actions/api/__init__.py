"""One typed client per backend. Actions call these and never build URLs or parse JSON."""
