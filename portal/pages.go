package portal

import "html/template"

// pages are the parsed templates, one set per page: the layout with the
// page's "content".
type pages map[string]*template.Template

var pageNames = []string{"login", "error", "overview", "users", "user", "trace", "calls", "voicemail", "huntgroups", "me", "numbers", "prompts"}

func parsePages() pages {
	p := pages{}
	for _, n := range pageNames {
		p[n] = template.Must(template.New(n).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+n+".html"))
	}
	return p
}
