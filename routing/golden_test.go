package routing_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"xc5/routing"
)

// Traces are checked whole against golden files, so that a change in any
// step (not only the few a substring check names) shows in review as a
// diff of testdata/*.golden. `go test ./routing -update` rewrites them.
var update = flag.Bool("update", false, "rewrite routing/testdata/*.golden from the traces the tests produce")

// goldenFile is one test's golden file: a section per scenario, each
// headed "=== name". Scenarios compare with their own section, so that
// running a subset (-run) still checks what it runs; -update rewrites the
// sections that ran and keeps the others.
type goldenFile struct {
	path      string
	want      map[string]string
	fileOrder []string // the sections of the file as read
	mu        sync.Mutex
	got       map[string]string
	order     []string // the scenarios that ran, in order
}

// golden opens testdata/<test name>.golden for t's scenarios.
func golden(t *testing.T) *goldenFile {
	t.Helper()
	g := &goldenFile{path: filepath.Join("testdata", t.Name()+".golden"), want: map[string]string{}, got: map[string]string{}}
	raw, err := os.ReadFile(g.path)
	switch {
	case err == nil:
		for _, sec := range strings.Split(string(raw), "=== ")[1:] {
			name, body, _ := strings.Cut(sec, "\n")
			g.want[name] = strings.TrimRight(body, "\n")
			g.fileOrder = append(g.fileOrder, name)
		}
	case !*update:
		t.Fatalf("%v (run go test ./routing -update to write it)", err)
	}
	if *update {
		t.Cleanup(func() { g.write(t) })
	}
	return g
}

// check compares a scenario's text with its section of the golden file.
func (g *goldenFile) check(t *testing.T, name, text string) {
	t.Helper()
	if strings.Contains(name, "\n") || strings.HasPrefix(text, "=== ") || strings.Contains(text, "\n=== ") {
		t.Fatalf("scenario %q: a name or text that would break the golden file's sections", name)
	}
	text = strings.TrimRight(text, "\n")
	if *update {
		g.mu.Lock()
		if _, dup := g.got[name]; !dup {
			g.order = append(g.order, name)
		}
		g.got[name] = text
		g.mu.Unlock()
		return
	}
	want, ok := g.want[name]
	switch {
	case !ok:
		t.Errorf("%s has no section %q (run go test ./routing -update)\ngot:\n%s", g.path, name, text)
	case want != text:
		t.Errorf("trace differs from %s, section %q (run go test ./routing -update if the change is meant)\n%s", g.path, name, lineDiff(want, text))
	}
}

// write rewrites the file. After a full run it holds the sections that
// ran, in their order; after a -run subset, the file's sections in their
// order with those that ran replaced, then any new ones.
func (g *goldenFile) write(t *testing.T) {
	names := g.order
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		names = append([]string(nil), g.fileOrder...)
		for _, name := range g.order {
			if _, old := g.want[name]; !old {
				names = append(names, name)
			}
		}
	}
	var b strings.Builder
	for _, name := range names {
		text, ran := g.got[name]
		if !ran {
			text = g.want[name]
		}
		fmt.Fprintf(&b, "=== %s\n%s\n\n", name, text)
	}
	if err := os.MkdirAll(filepath.Dir(g.path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// lineDiff shows want and got line by line, marking the lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			fmt.Fprintf(&b, "  %s\n", wl)
			continue
		}
		if i < len(w) {
			fmt.Fprintf(&b, "- %s\n", wl)
		}
		if i < len(g) {
			fmt.Fprintf(&b, "+ %s\n", gl)
		}
	}
	return b.String()
}

// render writes a call and its decision as the golden files hold them:
// the call, each step (kind, account, rule order when there is one, text)
// and every field the outcome sets. Step GUIDs are left out: fixtures make
// them afresh on every run.
func render(c routing.Call, tr routing.Trace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "call from %s dialing %s", c.From, c.Dialed)
	if !c.At.IsZero() {
		fmt.Fprintf(&b, " at %s", c.At.Format("2006-01-02T15:04:05Z07:00"))
	}
	if c.External {
		b.WriteString(" (external)")
	}
	b.WriteString("\n")
	for _, s := range tr.Steps {
		fmt.Fprintf(&b, "  %s %s", s.Kind, s.Account)
		if s.HasOrder {
			fmt.Fprintf(&b, " [order %d]", s.Order)
		}
		fmt.Fprintf(&b, ": %s\n", s.Text)
	}
	o := tr.Outcome
	fmt.Fprintf(&b, "=> %s", o.Outcome)
	for _, f := range []struct{ k, v string }{
		{"by", o.By}, {"to", o.To}, {"prompt", o.Prompt}, {"code", nonZero(o.Code)}, {"reason", o.Reason},
		{"room", o.Room}, {"number", o.Number}, {"mailbox", o.Mailbox}, {"record", strings.Join(o.Record, ",")},
	} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s=%q", f.k, f.v)
		}
	}
	if o.Emergency {
		b.WriteString(" emergency")
	}
	b.WriteString("\n")
	return b.String()
}

func nonZero(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}
