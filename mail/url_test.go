package mail

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in   string
		want Server
		err  string // part of the error; "" for none
	}{
		{in: "smtp://mail.example.com:587", want: Server{Host: "mail.example.com", Port: 587}},
		{in: "smtp://mail.example.com", want: Server{Host: "mail.example.com", Port: 25}},
		{in: "smtps://mail.example.com", want: Server{Host: "mail.example.com", Port: 465, TLS: true}},
		{in: "SMTPS://u%40x.test:p%3Ass@[::1]:2465/", want: Server{Host: "::1", Port: 2465, TLS: true, Username: "u@x.test", Password: "p:ss"}},
		{in: "smtp://relay:secret@10.0.0.1:25", want: Server{Host: "10.0.0.1", Port: 25, Username: "relay", Password: "secret"}},
		{in: "http://mail.example.com:25", err: "scheme must be smtp://"},
		{in: "mail.example.com:25", err: "scheme must be"},
		{in: "", err: "scheme must be"},
		{in: "smtp://", err: "no host"},
		{in: "smtp:mail.example.com", err: "no host"},
		{in: "smtp://mail.example.com:0", err: "port"},
		{in: "smtp://mail.example.com:99999", err: "port"},
		{in: "smtp://mail.example.com:x", err: "SMTP URL"},
		{in: "smtp://mail.example.com:", err: "empty port"},
		{in: "smtp://mail.example.com:25/path", err: "only [user:password@]host:port"},
		{in: "smtp://mail.example.com:25?tls=1", err: "only"},
		{in: "smtp://:secret@mail.example.com:25", err: "without a user"},
		{in: "smtp://u:hunter2@mail.example.com:25/x", err: "xxxxx"}, // the password never shows
		{in: "smtp://u:hunter2@mail.example.com:x", err: "invalid port"},
		{in: "ftp://u:hunter2@mail.example.com:25", err: "scheme"},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseURL(%q): %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseURL(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q): the error shows the password: %v", tt.in, err)
		}
	}
	if s, _ := ParseURL("smtps://u:hunter2@h:465"); s.String() != "smtps://u@h:465" {
		t.Errorf("String = %q", s.String())
	}
}
