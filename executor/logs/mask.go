package logs

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
)

// MinSecretLen is the shortest secret a Masker hides. Masking a value of
// one to three characters would turn every "a" or "on" in a log into ***
// and tell a reader more about the secret than it hides; Phalanx says so
// in the log instead (see SecretLines).
const MinSecretLen = 4

// Mask is what replaces a secret in a log.
const Mask = "***"

// DefaultMaxLine is how much of a line without a line break a Masker
// holds before it writes part of it anyway.
const DefaultMaxLine = 64 << 10

// SecretLines returns the strings a log must not show for one secret
// value: each of its lines with surrounding white space trimmed, so that
// every line of a multi-line secret (a PEM key) is hidden on its own.
// Lines shorter than MinSecretLen are left out and counted in short;
// blank lines are neither.
func SecretLines(value string) (lines []string, short int) {
	for line := range strings.FieldsFuncSeq(value, isLineBreak) {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case len(line) < MinSecretLen:
			short++
		case !slices.Contains(lines, line):
			lines = append(lines, line)
		}
	}
	return lines, short
}

func isLineBreak(r rune) bool { return r == '\n' || r == '\r' }

// Masker is an io.WriteCloser that writes what it is given to another
// writer with every occurrence of its secrets replaced by Mask. It works a
// line at a time ("\n" and "\r" end lines), so that a secret split across
// writes is still found, and holds back the end of a line until the line
// ends, Flush or Close is called, or DefaultMaxLine bytes of it are held.
//
// A secret never appears in what it writes, with one exception: a secret
// that itself contains "***" could be formed by a mask next to the cut
// in a line longer than DefaultMaxLine.
//
// A Masker is safe for concurrent use; the runtimes write a task's stdout
// and stderr to one.
type Masker struct {
	w       io.Writer
	secrets [][]byte
	longest int
	maxLine int

	mu  sync.Mutex
	buf []byte // the unwritten end of the current line
	err error  // the first error of w, returned from then on
}

// NewMasker returns a Masker writing to w that hides secrets (see
// SecretLines for turning values into secrets). Secrets shorter than
// MinSecretLen or holding a line break are ignored.
func NewMasker(w io.Writer, secrets []string) *Masker {
	return newMasker(w, secrets, DefaultMaxLine)
}

func newMasker(w io.Writer, secrets []string, maxLine int) *Masker {
	m := &Masker{w: w, secrets: compile(secrets)}
	for _, s := range m.secrets {
		m.longest = max(m.longest, len(s))
	}
	m.maxLine = max(maxLine, m.longest)
	return m
}

// compile keeps the usable secrets, sorted and without repeats.
func compile(secrets []string) [][]byte {
	var out [][]byte
	for _, s := range secrets {
		if len(s) >= MinSecretLen && !strings.ContainsAny(s, "\n\r") {
			out = append(out, []byte(s))
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return slices.CompactFunc(out, bytes.Equal)
}

// Write masks and writes every complete line in p, and holds the rest. It
// reports len(p) unless the underlying writer fails.
func (m *Masker) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return 0, m.err
	}
	if len(m.secrets) == 0 {
		return m.write(p, len(p))
	}
	m.buf = append(m.buf, p...)
	end := bytes.LastIndexAny(m.buf, "\n\r") + 1
	if end > 0 {
		if _, err := m.write(m.mask(m.buf[:end]), len(p)); err != nil {
			return 0, err
		}
		m.buf = append(m.buf[:0], m.buf[end:]...)
	}
	if len(m.buf) > m.maxLine {
		if err := m.cut(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// cut writes all of an overlong line but its last longest-1 bytes, where a
// secret the next write completes may begin, and never in the middle of
// a secret.
func (m *Masker) cut() error {
	at := len(m.buf) - (m.longest - 1)
	for _, r := range cover(m.buf, m.secrets) {
		if r[0] < at && at < r[1] {
			at = r[1]
		}
	}
	if _, err := m.write(m.mask(m.buf[:at]), 0); err != nil {
		return err
	}
	m.buf = append(m.buf[:0], m.buf[at:]...)
	return nil
}

// Flush masks and writes the held end of the current line.
func (m *Masker) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if len(m.buf) > 0 {
		if _, err := m.write(m.mask(m.buf), 0); err != nil {
			return err
		}
		m.buf = m.buf[:0]
	}
	return nil
}

// Close flushes and then closes the underlying writer if it is an
// io.Closer.
func (m *Masker) Close() error {
	err := m.Flush()
	if c, ok := m.w.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// write writes b and, when it all went, reports n written.
func (m *Masker) write(b []byte, n int) (int, error) {
	if _, err := m.w.Write(b); err != nil {
		m.err = err
		return 0, err
	}
	return n, nil
}

// mask returns b with the secrets masked, again and again until none is
// left: masking can join the text around a secret into another secret.
func (m *Masker) mask(b []byte) []byte {
	return MaskBytes(b, m.secrets)
}

// MaskString returns s with every occurrence of the secrets replaced by
// Mask (see Masker; secrets shorter than MinSecretLen are ignored). It is
// for one-off texts such as error messages.
func MaskString(s string, secrets []string) string {
	return string(MaskBytes([]byte(s), compile(secrets)))
}

// MaskBytes masks b: each maximal run of bytes covered by occurrences of
// secrets (overlapping ones included) becomes one Mask, and this repeats
// until no secret is left. b is not changed.
func MaskBytes(b []byte, secrets [][]byte) []byte {
	for {
		runs := cover(b, secrets)
		if len(runs) == 0 {
			return b
		}
		out := make([]byte, 0, len(b))
		last := 0
		for _, r := range runs {
			out = append(out, b[last:r[0]]...)
			out = append(out, Mask...)
			last = r[1]
		}
		b = append(out, b[last:]...)
	}
}

// cover returns the maximal runs [start, end) of b covered by occurrences
// of secrets, in order.
func cover(b []byte, secrets [][]byte) [][2]int {
	var spans [][2]int
	for _, s := range secrets {
		for off := 0; ; {
			i := bytes.Index(b[off:], s)
			if i < 0 {
				break
			}
			spans = append(spans, [2]int{off + i, off + i + len(s)})
			off += i + 1
		}
	}
	if len(spans) == 0 {
		return nil
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	runs := spans[:1]
	for _, sp := range spans[1:] {
		last := &runs[len(runs)-1]
		if sp[0] <= last[1] {
			last[1] = max(last[1], sp[1])
		} else {
			runs = append(runs, sp)
		}
	}
	return runs
}
