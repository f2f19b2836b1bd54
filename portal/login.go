package portal

import "net/http"

// loginPage shows the login form (GET) or logs in (POST).
func (s *Server) loginPage(q *req) {
	p := page{Base: q.base, Title: "Log in", Company: q.co.Username}
	if q.r.Method == http.MethodPost {
		// Read before any session: a small urlencoded form only.
		if !readForm(q.w, q.r, loginLimit, false) {
			return
		}
		if !q.s.loginTokenOK(q.r, q.r.PostFormValue("csrf")) || !sameOrigin(q.r) {
			http.Error(q.w, "missing or invalid CSRF token: reload the login page", http.StatusForbidden)
			return
		}
		err := s.login(q.r.Context(), q.w, q.r, q.co, q.base, q.r.PostFormValue("username"), q.r.PostFormValue("password"))
		if err == nil {
			q.back("")
			return
		}
		p.Error = err.Error()
		p.Data = s.loginToken(q.w, q.r, q.base)
		code := http.StatusUnauthorized
		if err != errLogin {
			code = status(err)
		}
		q.renderPage("login", p, code)
		return
	}
	if q.r.Method != http.MethodGet && q.r.Method != http.MethodHead {
		http.Error(q.w, "use GET or POST", http.StatusMethodNotAllowed)
		return
	}
	p.Data = s.loginToken(q.w, q.r, q.base)
	q.renderPage("login", p, http.StatusOK)
}
