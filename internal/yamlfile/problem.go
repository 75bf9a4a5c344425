package yamlfile

import "fmt"

// Problem is one thing wrong in a file.
type Problem struct {
	// File is the file name given to Decode.
	File string
	// Line is the 1-based line the problem is on, or 0 for a problem with
	// the file as a whole.
	Line int
	// Field is the path of the field at fault, such as "spec.queue" or
	// `env["1X"]`, or "" when no field is.
	Field string
	// Msg says what is wrong and, where it can, what would be right.
	Msg string
}

// Quote renders a user's value for a message: quoted, and cut short when
// long.
func Quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
