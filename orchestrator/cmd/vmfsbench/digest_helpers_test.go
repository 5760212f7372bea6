package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

func fileLine(path, content string) string {
	sum := sha256.Sum256([]byte(content))
	return fmt.Sprintf("%s\x00%d\x00%s\n", path, len(content), hex.EncodeToString(sum[:]))
}

func digestOf(lines []string) string {
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return hex.EncodeToString(h.Sum(nil))
}
