package haproxy

import (
	"testing"
)

func TestVerdict(t *testing.T) {
	if verdict(0) != "0 (sees nothing)" || verdict(7) != "7 (reported)" {
		t.Error(verdict(0), verdict(7))
	}
}
