// Package prompts holds the system prompts the media service plays on its
// own (the voicemail greeting that names nothing private, "invalid entry",
// the beep…) as 8 kHz 16-bit mono WAVs embedded in the binary, so that a
// media node never needs the store to say something sensible. make.sh
// regenerates them with espeak-ng and sox.
//
// Each prompt has a fixed GUID: xc5 serve loads them into the _prompt.shared
// account on first start (Load), and dial plans name them by GUID (the conference
// menu's "Please enter your PIN" is F4FE3E59-0439-4849-9444-85BEFE8694B3).
package prompts

import (
	"embed"
	"fmt"
	"time"

	"xc5/media/wav"
)

//go:embed *.wav
var files embed.FS

// Names of the system prompts.
const (
	VoicemailGreeting  = "voicemail-greeting"
	EnterPIN           = "enter-pin"
	InvalidEntry       = "invalid-entry"
	Goodbye            = "goodbye"
	RecordInstructions = "record-instructions"
	KeepOrRerecord     = "keep-or-rerecord"
	RecordingSaved     = "recording-saved"
	Beep               = "beep"
	FirstParticipant   = "first-participant"
	HoldMusic          = "hold-music"
	// The feature codes' answers (docs/sip.md, "Feature codes: settings"):
	// three 1400 Hz beeps and the words, or two 480 Hz beeps for a refusal.
	FeatureDNDOn   = "feature-dnd-on"
	FeatureDNDOff  = "feature-dnd-off"
	FeatureCFAOn   = "feature-cfa-on"
	FeatureCFAOff  = "feature-cfa-off"
	FeatureCFNAOn  = "feature-cfna-on"
	FeatureCFNAOff = "feature-cfna-off"
	FeatureRefused = "feature-refused"
)

// HoldMusicGUID is the hold music's prompt in _prompt.shared: what a held
// or parked caller hears, looped (the provider may replace its audio).
const HoldMusicGUID = "6C6F7FB0-FB1A-432C-8A72-8E9BF1F30AB2"

// Prompt is one system prompt.
type Prompt struct {
	GUID        string
	Name        string
	Description string // what it says
	WAV         []byte // canonical 44-byte-header 8 kHz 16-bit mono PCM WAV
	Length      time.Duration
}

// table fixes GUIDs and texts; the order is that of All.
var table = []Prompt{
	{GUID: "0DEFC22E-CD43-4B9A-AA23-7DA8D916D83B", Name: VoicemailGreeting,
		Description: "The person you are calling is not available. Please leave a message after the tone."},
	{GUID: "F4FE3E59-0439-4849-9444-85BEFE8694B3", Name: EnterPIN, Description: "Please enter your PIN."},
	{GUID: "9406E198-388A-4633-9DBB-EBDA8B382711", Name: InvalidEntry, Description: "Invalid entry."},
	{GUID: "41EC9B4C-351E-4FFD-BB12-D9A0925C080C", Name: Goodbye, Description: "Goodbye."},
	{GUID: "1FC0C848-D7D2-4683-ACAD-9B28BA8AF004", Name: RecordInstructions,
		Description: "Record your message after the tone. Press pound when done."},
	{GUID: "C5681F56-2F50-462A-8D01-FB1DD3FE4639", Name: KeepOrRerecord,
		Description: "Press 1 to keep this recording, 2 to record it again."},
	{GUID: "6D7BC2F3-64B3-4CE9-8D6E-C9A132E1A15C", Name: RecordingSaved, Description: "Your recording has been saved."},
	{GUID: "41CF7014-3CB6-4CEE-8D8D-489A442ED1CA", Name: Beep, Description: "A 1 kHz tone of 0.3 s (the beep before recording)."},
	{GUID: "B64248C9-3B15-4F81-BB53-322F8F419380", Name: FirstParticipant, Description: "You are the first participant."},
	{GUID: HoldMusicGUID, Name: HoldMusic, Description: "Hold music: 4 s of C and F major arpeggios, looped while a call is held or parked."},
	{GUID: "C3BB3A9B-FE73-4420-BCBA-E8619FC750E8", Name: FeatureDNDOn, Description: "Three short beeps, then: Do not disturb is on."},
	{GUID: "13E0B9AD-286B-4A55-8D9E-74CDCF2C87C3", Name: FeatureDNDOff, Description: "Three short beeps, then: Do not disturb is off."},
	{GUID: "D761D801-7A14-480A-9EF7-51A834978B01", Name: FeatureCFAOn, Description: "Three short beeps, then: Your calls are forwarded."},
	{GUID: "83C74AD6-9667-4BF2-B1C4-E7B4B7F52E78", Name: FeatureCFAOff, Description: "Three short beeps, then: Call forwarding is off."},
	{GUID: "42D81F97-2708-4C67-94B6-224DD40A91C3", Name: FeatureCFNAOn, Description: "Three short beeps, then: Forward on no answer is on."},
	{GUID: "A53BE6E7-3776-4F91-B551-4DC03528ECE9", Name: FeatureCFNAOff, Description: "Three short beeps, then: Forward on no answer is off."},
	{GUID: "CED665E2-C01C-4821-8EFF-708E3CFD5CDB", Name: FeatureRefused, Description: "Two low beeps, then: That did not work."},
}

// loaded is table with audio, decoded once at start: a broken embedded
// file is a build defect, so it panics at init rather than mid-call.
var loaded = load()

func load() []Prompt {
	out := make([]Prompt, len(table))
	for i, p := range table {
		data, err := files.ReadFile(p.Name + ".wav")
		if err != nil {
			panic(fmt.Sprintf("prompts: %s: %v", p.Name, err))
		}
		a, err := wav.Parse(data)
		if err != nil || a.SampleRate != 8000 {
			panic(fmt.Sprintf("prompts: %s: not an 8 kHz WAV (%v)", p.Name, err))
		}
		p.WAV = wav.Encode(a.Samples, 8000)
		p.Length = a.Duration()
		out[i] = p
	}
	return out
}

// All returns every system prompt (copies of the table; the WAV bytes are
// shared and must not be modified).
func All() []Prompt {
	return append([]Prompt(nil), loaded...)
}

// ByName returns the prompt called name, or the zero Prompt when there is
// none.
func ByName(name string) Prompt {
	for _, p := range loaded {
		if p.Name == name {
			return p
		}
	}
	return Prompt{}
}
