package ipanomaly

import (
	"fmt"
	"github.com/siemscore/siemscore/models/ipinsights"
	"os"
	"strconv"
)

func fmtF(x float64) string { return fmt.Sprintf("%.1f", x) }

func keyOfID(id string) uint64 { return ipinsights.Key(id) }

func tweak(c *Config) {
	if v := os.Getenv("HOLD"); v != "" {
		c.HoldoutFraction, _ = strconv.ParseFloat(v, 64)
	}
	if v := os.Getenv("SMOOTH"); v != "" {
		c.Smoothness, _ = strconv.ParseFloat(v, 64)
	}
	if v := os.Getenv("PRIOR"); v != "" {
		c.Prior, _ = strconv.ParseFloat(v, 64)
	}
	if v := os.Getenv("NEG"); v != "" {
		c.NegativesPerPositive, _ = strconv.Atoi(v)
	}
}
