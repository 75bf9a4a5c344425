package logs

// NewMaskerWithMaxLine is NewMasker holding at most maxLine bytes of a
// line, so tests reach the overlong-line path with short inputs.
var NewMaskerWithMaxLine = newMasker
