package jobspec

import (
	"strings"
	"testing"
)

func TestParseCPU(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string // a substring of the error; "" for none
	}{
		{"500m", 500, ""},
		{"2", 2000, ""},
		{"0.5", 500, ""},
		{"1.5", 1500, ""},
		{".25", 250, ""},
		{"1.", 1000, ""},
		{"0", 0, ""},
		{"0m", 0, ""},
		{"1.250", 1250, ""},
		{"9223372036854775807m", 9223372036854775807, ""},
		{"abc", 0, "not a number"},
		{"", 0, "no number"},
		{"m", 0, "no number"},
		{".", 0, "not a number"},
		{"-1", 0, "must not be negative"},
		{"+1", 0, "not a number"},
		{"1e3", 0, "not a number"},
		{"1 ", 0, "not a number"},
		{"2k", 0, "not a number"},
		{"1.5m", 0, "finer than 1m"},
		{"0.0005", 0, "finer than 1m"},
		{"9223372036854775808m", 0, "too large"},
		{"99999999999999999", 0, "too large"},
		{strings.Repeat("1", 41), 0, "longer than 40"},
	}
	for _, tt := range tests {
		got, err := ParseCPU(tt.in)
		checkQuantity(t, "ParseCPU", tt.in, got, err, tt.want, tt.wantErr)
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"64Gi", 64 << 30, ""},
		{"512Mi", 512 << 20, ""},
		{"1Ki", 1024, ""},
		{"2Ti", 2 << 40, ""},
		{"1Pi", 1 << 50, ""},
		{"1G", 1e9, ""},
		{"100M", 100e6, ""},
		{"1k", 1000, ""},
		{"1K", 1000, ""},
		{"3T", 3e12, ""},
		{"2P", 2e15, ""},
		{"1024", 1024, ""},
		{"0", 0, ""},
		{"1.5Gi", 3 << 29, ""},
		{"0.5", 1, ""},     // rounded up to a whole byte
		{"0.1Ki", 103, ""}, // 102.4, rounded up
		{"8191Pi", 8191 << 50, ""},
		{"9223372036854775807", 9223372036854775807, ""},
		{"abc", 0, "not a number"},
		{"-1", 0, "must not be negative"},
		{"-1Gi", 0, "must not be negative"},
		{"1Xi", 0, "not a number"},
		{"1GB", 0, "not a number"},
		{"1gi", 0, "not a number"},
		{"1m", 0, "not a number"},
		{"Gi", 0, "not a number"},
		{"", 0, "no number"},
		{"1e9", 0, "not a number"},
		{"99999999999Pi", 0, "too large"},
		{"8192Pi", 0, "too large"},
		{"9223372036854775808", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		checkQuantity(t, "ParseBytes", tt.in, got, err, tt.want, tt.wantErr)
	}
}

func checkQuantity(t *testing.T, fn, in string, got int64, err error, want int64, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("%s(%q): %v", fn, in, err)
	case wantErr == "" && got != want:
		t.Errorf("%s(%q) = %d, want %d", fn, in, got, want)
	case wantErr != "" && err == nil:
		t.Errorf("%s(%q) = %d, want an error containing %q", fn, in, got, wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("%s(%q) error = %q, want it to contain %q", fn, in, err, wantErr)
	}
}
