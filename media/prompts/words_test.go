package prompts

import (
	"testing"

	"xc5/internal/audiotest"
)

// TestWords: every word the mailbox composes from is there, audible, and
// free of 1 kHz (so that tests finding a caller's 1 kHz tone in what the
// owner hears are not fooled by speech); together they stay small.
func TestWords(t *testing.T) {
	need := []string{"you-have", "no", "and", "new-message", "new-messages", "saved-message", "saved-messages",
		"message", "from", "received", "at", "oh", "am", "pm", "today", "yesterday", "hundred",
		"main-menu", "options-menu", "message-menu", "message-deleted", "message-saved", "no-more-messages",
		"greeting-instructions", "standard-greeting", "sunday", "december", "0", "19", "20", "90"}
	for _, n := range need {
		if Word(n) == nil {
			t.Errorf("word %q missing", n)
		}
	}
	total := 0
	for _, n := range WordNames() {
		s := Word(n)
		total += len(s) // one byte a sample as μ-law
		if len(s) < 1600 || audiotest.Energy(s) < 1e-4 {
			t.Errorf("%s: %d samples, energy %g: not audible", n, len(s), audiotest.Energy(s))
		}
		for i := 0; i+800 <= len(s); i += 800 {
			if audiotest.Has(s[i:i+800], 8000, 1000) {
				t.Errorf("%s holds 1 kHz at %d ms", n, i/8)
				break
			}
		}
	}
	if total > 600<<10 {
		t.Errorf("words take %d bytes, want < 600 KB", total)
	}
}
