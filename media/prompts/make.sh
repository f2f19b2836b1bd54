#!/bin/sh
# make.sh regenerates the system prompts: espeak-ng speaks each text and
# sox turns it into the 8 kHz 16-bit mono WAV the media service plays.
# Needs espeak-ng and sox (apt-get install -y espeak-ng sox). The WAVs are
# committed, so building xc5 does not need either tool.
set -eu
cd "$(dirname "$0")"
sh ./words.sh # the mailbox's words and menus (words/)
speak() { # name text
	espeak-ng -v en-us -s 165 -w "/tmp/xc5-prompt-$1.wav" "$2"
	# Trim the leading and trailing silence espeak adds, then convert.
	sox "/tmp/xc5-prompt-$1.wav" -r 8000 -b 16 -c 1 "$1.wav" \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.1 0.2
	rm -f "/tmp/xc5-prompt-$1.wav"
}
speak voicemail-greeting "The person you are calling is not available. Please leave a message after the tone."
speak enter-pin "Please enter your PIN."
speak invalid-entry "Invalid entry."
speak goodbye "Goodbye."
speak record-instructions "Record your message after the tone. Press pound when done."
speak keep-or-rerecord "Press 1 to keep this recording, 2 to record it again."
speak recording-saved "Your recording has been saved."
speak first-participant "You are the first participant."
sox -n -r 8000 -b 16 -c 1 beep.wav synth 0.3 sine 1000 vol 0.5
# Hold music: eight plucked-sounding notes (a fundamental and its octave,
# 0.5 s each, faded) of C major and F major chords, 4 s looped by the
# play app while a call is held or parked.
holdtmp=$(mktemp -d)
i=0
for f in 523.25 659.25 783.99 659.25 587.33 698.46 880 698.46; do
	i=$((i + 1))
	sox -n -r 8000 -b 16 -c 1 "$holdtmp/n$i.wav" synth 0.5 sine "$f" sine "$(echo "$f*2" | bc)" remix 1,2 vol 0.4 fade q 0.03 0.5 0.08
done
sox "$holdtmp"/n*.wav -r 8000 -b 16 -c 1 hold-music.wav
rm -r "$holdtmp"
# Feature-code answers (docs/sip.md, "Feature codes: settings"): a tone,
# then the words. Confirmation: three short 1400 Hz beeps; refusal: two
# longer 480 Hz ones, so that the ear (and a test's Goertzel) tells them
# apart without the words.
feature() { # name freq on off count text
	espeak-ng -v en-us -s 165 -w "/tmp/xc5-prompt-$1.wav" "$6"
	sox "/tmp/xc5-prompt-$1.wav" -r 8000 -b 16 -c 1 "/tmp/xc5-words-$1.wav" \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.25 0.2
	sox -n -r 8000 -b 16 -c 1 "/tmp/xc5-tone-$1.wav" synth "$3" sine "$2" vol 0.5 pad 0 "$4" repeat "$(($5 - 1))"
	# mu-law on disk, as words/: half the size in the binary.
	sox "/tmp/xc5-tone-$1.wav" "/tmp/xc5-words-$1.wav" -e u-law -b 8 "$1.wav"
	rm -f "/tmp/xc5-prompt-$1.wav" "/tmp/xc5-words-$1.wav" "/tmp/xc5-tone-$1.wav"
}
feature feature-dnd-on 1400 0.15 0.05 3 "Do not disturb is on."
feature feature-dnd-off 1400 0.15 0.05 3 "Do not disturb is off."
feature feature-cfa-on 1400 0.15 0.05 3 "Your calls are forwarded."
feature feature-cfa-off 1400 0.15 0.05 3 "Call forwarding is off."
feature feature-cfna-on 1400 0.15 0.05 3 "Forward on no answer is on."
feature feature-cfna-off 1400 0.15 0.05 3 "Forward on no answer is off."
feature feature-refused 480 0.3 0.1 2 "That did not work."
