package prompts

import (
	"embed"
	"fmt"
	"strings"

	"xc5/media/wav"
)

// The words and phrases the mailbox app composes its announcements from
// ("you have" "3" "new messages", a caller's digits, a day and a time, its
// menus), made by words.sh. Unlike the system prompts they are no prompts
// of the store: they have no GUIDs and are never loaded into
// _prompt.shared. They are G.711 μ-law, half the size of 16-bit PCM.

//go:embed words/*.wav
var wordFiles embed.FS

// words holds every word decoded, by name (the file's name without .wav):
// "0"…"19", "20"…"90", "hundred", "monday"…, "january"…, "you-have"…
var words = loadWords()

func loadWords() map[string][]int16 {
	entries, err := wordFiles.ReadDir("words")
	if err != nil {
		panic(fmt.Sprintf("prompts: words: %v", err))
	}
	m := make(map[string][]int16, len(entries))
	for _, e := range entries {
		data, err := wordFiles.ReadFile("words/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("prompts: %s: %v", e.Name(), err))
		}
		a, err := wav.Parse(data)
		if err != nil || a.SampleRate != 8000 {
			panic(fmt.Sprintf("prompts: %s: not an 8 kHz WAV (%v)", e.Name(), err))
		}
		m[strings.TrimSuffix(e.Name(), ".wav")] = a.Samples
	}
	return m
}

// Word returns the samples (8 kHz) of a word, or nil when there is none.
// They are shared and must not be modified.
func Word(name string) []int16 { return words[name] }

// WordNames lists the words there are (for tests).
func WordNames() []string {
	out := make([]string, 0, len(words))
	for n := range words {
		out = append(out, n)
	}
	return out
}
