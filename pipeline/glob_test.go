package pipeline

import (
	"strings"
	"testing"

	"github.com/phalanx-sched/phalanx/api/jobspec"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"main", "main", true},
		{"main", "maint", false},
		{"release/*", "release/1.0", true},
		{"release/*", "release/1/2", false},
		{"release/**", "release/1/2", true},
		{"release/**", "release", true},
		{"feature/**", "features/x", false},
		{"v*", "v1.2.3", true},
		{"**", "a/b/c", true},
		{"**", "", true},
		{"**/*.go", "main.go", true},
		{"**/*.go", "cmd/x/main.go", true},
		{"**/*.go", "cmd/x/main.py", false},
		{"model/**", "model/a.py", true},
		{"model/**", "models/a.py", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"[a-c]?", "b1", true},
		{"[", "[", false},
		{"**/**/**/**/**/**/**/**/x", "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y", false},
	}
	for _, tt := range tests {
		if got := matchGlob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestCheckGlob(t *testing.T) {
	for _, ok := range []string{"main", "release/*", "**/*.go", `\*`, "[a-z]*"} {
		if err := checkGlob(ok); err != nil {
			t.Errorf("checkGlob(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "[", "a/[b", `a\`, "[]a]"} {
		if err := checkGlob(bad); err == nil {
			t.Errorf("checkGlob(%q) = nil, want an error", bad)
		}
	}
}

func TestCellName(t *testing.T) {
	long := "step-" + strings.Repeat("abcd-", 20)
	tests := []struct{ raw, want string }{
		{"test-GO-1.22-OS-linux", "test-go-1-22-os-linux"},
		{"t-X-a  b--c", "t-x-a-b-c"},
		{"t-X-_", "t-x"},
		{long, "step-abcd-abcd-abcd-abcd-abcd-abcd-abcd-abcd-abcd-abcd-89e61d2a"},
	}
	for _, tt := range tests {
		got := cellName(tt.raw)
		if got != tt.want {
			t.Errorf("cellName(%q) = %q, want %q", tt.raw, got, tt.want)
		}
		if len(got) > 63 {
			t.Errorf("cellName(%q) = %q: longer than 63", tt.raw, got)
		}
	}
}

func validLabel(s string) bool { return jobspec.ValidName(s) }
