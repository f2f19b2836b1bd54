package service

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"xc5"
	"xc5/media/prompts"
)

// The mailbox's announcements, composed from the words of media/prompts
// (words.sh): counts, a message's number, its caller and when it came.

// say joins words (names of prompts.Word) into one stretch of audio.
func say(names ...string) []int16 {
	var out []int16
	for _, n := range names {
		out = append(out, prompts.Word(n)...)
	}
	return out
}

// numberWords spells n as words: 0…999 as English says them, larger
// numbers digit by digit.
func numberWords(n int) []string {
	switch {
	case n < 0:
		return nil
	case n < 20:
		return []string{strconv.Itoa(n)}
	case n < 100:
		w := []string{strconv.Itoa(n / 10 * 10)}
		if n%10 != 0 {
			w = append(w, strconv.Itoa(n%10))
		}
		return w
	case n < 1000:
		w := []string{strconv.Itoa(n / 100), "hundred"}
		if n%100 != 0 {
			w = append(w, numberWords(n%100)...)
		}
		return w
	}
	return digitWords(strconv.Itoa(n))
}

// digitWords spells the digits of s one by one, skipping anything else.
func digitWords(s string) []string {
	var w []string
	for _, r := range s {
		if r >= '0' && r <= '9' {
			w = append(w, string(r))
		}
	}
	return w
}

// countWords says "no new messages", "one new message", "3 new messages".
func countWords(n int, one, many string) []string {
	switch n {
	case 0:
		return []string{"no", many}
	case 1:
		return []string{"1", one}
	}
	return append(numberWords(n), many)
}

// countsAudio is "You have N new messages and M saved messages".
func countsAudio(fresh, saved int) []int16 {
	w := append([]string{"you-have"}, countWords(fresh, "new-message", "new-messages")...)
	w = append(w, "and")
	w = append(w, countWords(saved, "saved-message", "saved-messages")...)
	return say(w...)
}

// callerWords says who left a message when it is a number (digits, an
// optional leading +, at most 20): "from 6 4 9 …". Usernames and
// "anonymous" are not spelled out: nothing is said of the caller.
func callerWords(from string) []string {
	n := strings.TrimPrefix(from, "+")
	if n == "" || len(n) > 20 || strings.Trim(n, "0123456789") != "" {
		return nil
	}
	return append([]string{"from"}, digitWords(n)...)
}

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
var months = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

// whenWords says when a message came, in loc, as seen at now: "received
// today at 3 oh 5 P M", "yesterday", a weekday within the week, else the
// month and day.
func whenWords(received, now time.Time, loc *time.Location) []string {
	r, n := received.In(loc), now.In(loc)
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	w := []string{"received"}
	switch ago := int(day(n).Sub(day(r)).Hours() / 24); {
	case ago == 0:
		w = append(w, "today")
	case ago == 1:
		w = append(w, "yesterday")
	case ago > 1 && ago < 7:
		w = append(w, weekdays[r.Weekday()])
	default:
		w = append(append(w, months[r.Month()-1]), numberWords(r.Day())...)
	}
	h, ampm := r.Hour()%12, "am"
	if r.Hour() >= 12 {
		ampm = "pm"
	}
	if h == 0 {
		h = 12
	}
	w = append(append(w, "at"), numberWords(h)...)
	switch m := r.Minute(); {
	case m == 0:
	case m < 10:
		w = append(w, "oh", strconv.Itoa(m))
	default:
		w = append(w, numberWords(m)...)
	}
	return append(w, ampm)
}

// introAudio is what is said before message n: its number, its caller
// when a number, and when it came.
func introAudio(n int, v xc5.Voicemail, now time.Time, loc *time.Location) []int16 {
	w := append([]string{"message"}, numberWords(n)...)
	w = append(w, callerWords(v.From)...)
	w = append(w, whenWords(v.Received, now, loc)...)
	return slices.Concat(say(w...), make([]int16, 8000/4)) // a breath before the message
}
