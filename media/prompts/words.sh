#!/bin/sh
# words.sh regenerates the words and phrases the mailbox app composes its
# announcements from (numbers, days, months, its menus) into words/, as
# 8 kHz G.711 mu-law WAVs: half the size of 16-bit PCM, and what a phone
# hears anyway. Needs espeak-ng and sox; make.sh runs it.
set -eu
cd "$(dirname "$0")"
mkdir -p words
word() { # name text
	espeak-ng -v en-us -s 165 -w "/tmp/xc5-word-$1.wav" "$2"
	sox "/tmp/xc5-word-$1.wav" -r 8000 -e u-law -b 8 -c 1 "words/$1.wav" \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0.05 0.1
	rm -f "/tmp/xc5-word-$1.wav"
}
n=0
for w in zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen \
	fifteen sixteen seventeen eighteen nineteen; do
	word "$n" "$w"
	n=$((n + 1))
done
for t in 20:twenty 30:thirty 40:forty 50:fifty 60:sixty 70:seventy 80:eighty 90:ninety; do
	word "${t%%:*}" "${t#*:}"
done
word hundred "hundred"
for d in monday tuesday wednesday thursday friday saturday sunday today yesterday \
	january february march april may june july august september october november december; do
	word "$d" "$d"
done
word you-have "You have"
word no "no"
word and "and"
word new-message "new message"
word new-messages "new messages"
word saved-message "saved message"
word saved-messages "saved messages"
word message "Message"
word from "from"
word received "received"
word at "at"
word oh "oh"
word am "A M"
word pm "P M"
word main-menu "Press 1 to listen to your messages. Press 0 for mailbox options."
word options-menu "Press 1 to record your greeting. Press 2 to use the standard greeting. Press star to go back."
word message-menu "Press 1 to replay, 7 to delete, 9 to save, pound for the next message, star for the main menu."
word message-deleted "Message deleted."
word message-saved "Message saved."
word no-more-messages "No more messages."
word greeting-instructions "Record your greeting after the tone. Press pound when done."
word standard-greeting "Callers will now hear the standard greeting."
