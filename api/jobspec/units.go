package jobspec

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/phalanx-sched/phalanx/internal/yamlfile"
)

// maxQuantityLen bounds the text of a quantity, so parsing it stays cheap.
const maxQuantityLen = 40

// ParseCPU parses a CPU quantity into millicores: cores, whole or
// fractional ("2", "0.5", "1.5"), or millicores ("500m"). It rejects negative
// values, precision finer than 1m ("0.0005", "1.5m") and values that do not
// fit an int64.
func ParseCPU(s string) (milli int64, err error) {
	num, scale := s, int64(1000)
	if strings.HasSuffix(s, "m") {
		num, scale = s[:len(s)-1], 1
	}
	mant, digits, err := parseDecimal(num)
	if err != nil {
		return 0, fmt.Errorf("invalid CPU quantity %s: %w; want cores such as \"2\" or \"0.5\", or millicores such as \"500m\"", yamlfile.Quote(s), err)
	}
	v, exact := scaleDecimal(mant, digits, big.NewInt(scale))
	if !exact {
		return 0, fmt.Errorf("invalid CPU quantity %s: finer than 1m (a thousandth of a core)", yamlfile.Quote(s))
	}
	if !v.IsInt64() {
		return 0, fmt.Errorf("invalid CPU quantity %s: too large", yamlfile.Quote(s))
	}
	return v.Int64(), nil
}

// byteUnits maps a unit suffix to its multiplier.
var byteUnits = map[string]int64{
	"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50,
}

// ParseBytes parses a byte quantity: a number, whole or fractional, with an
// optional unit: k or K, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi
// (powers of 1024). "64Gi", "512Mi", "1G", "1024" and "1.5Gi" are all valid.
// A fractional result is rounded up to a whole byte. It rejects negative
// values and values that do not fit an int64.
func ParseBytes(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, n := range []int{2, 1} {
		if len(s) > n {
			if m, ok := byteUnits[s[len(s)-n:]]; ok {
				num, mult = s[:len(s)-n], m
				break
			}
		}
	}
	mant, digits, err := parseDecimal(num)
	if err != nil {
		return 0, fmt.Errorf("invalid byte quantity %s: %w; want a number with an optional unit: k, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi (powers of 1024)", yamlfile.Quote(s), err)
	}
	v, exact := scaleDecimal(mant, digits, big.NewInt(mult))
	if !exact {
		v.Add(v, big.NewInt(1)) // round up to a whole byte
	}
	if !v.IsInt64() {
		return 0, fmt.Errorf("invalid byte quantity %s: too large, at most %d bytes", yamlfile.Quote(s), int64(math.MaxInt64))
	}
	return v.Int64(), nil
}

// parseDecimal reads an unsigned decimal such as "12", "0.5" or ".5" as a
// mantissa and the count of digits after the point: "1.25" is (125, 2).
func parseDecimal(s string) (*big.Int, int, error) {
	switch {
	case s == "":
		return nil, 0, errors.New("no number")
	case strings.HasPrefix(s, "-"):
		return nil, 0, errors.New("must not be negative")
	case len(s) > maxQuantityLen:
		return nil, 0, fmt.Errorf("longer than %d characters", maxQuantityLen)
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || !allDigits(whole) || !allDigits(frac) {
		return nil, 0, errors.New("not a number")
	}
	mant, _ := new(big.Int).SetString("0"+whole+frac, 10)
	return mant, len(frac), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// scaleDecimal returns mant/10^digits*mult, truncated, and whether that was
// exact.
func scaleDecimal(mant *big.Int, digits int, mult *big.Int) (*big.Int, bool) {
	v := new(big.Int).Mul(mant, mult)
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	q, r := new(big.Int).QuoRem(v, div, new(big.Int))
	return q, r.Sign() == 0
}
