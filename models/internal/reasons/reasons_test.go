package reasons

import (
	"slices"
	"testing"
)

func TestCodes(t *testing.T) {
	codes := []string{"a", "b", "c"}
	tab := New(codes...)
	if got := tab.Codes(0b111); !slices.Equal(got, codes) {
		t.Errorf("every bit: %v", got)
	}
	if got := tab.Codes(0b101); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("bits 0 and 2: %v", got)
	}
	if got := tab.Codes(1<<15 | 0b010); !slices.Equal(got, []string{"b"}) {
		t.Errorf("a bit without a code must not produce one: %v", got)
	}
	if got := tab.Codes(0); len(got) != 0 {
		t.Errorf("no bits: %v", got)
	}
	shared := tab.Codes(0b011)
	if grown := append(shared, "x"); &grown[0] == &shared[0] || !slices.Equal(tab.Codes(0b011), []string{"a", "b"}) {
		t.Error("appending to a shared list wrote into it")
	}
	if n := testing.AllocsPerRun(100, func() { _ = tab.Codes(0b110) }); n != 0 {
		t.Errorf("Codes allocates %v times", n)
	}
}
