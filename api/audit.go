package api

import (
	"net/http"
	"strconv"
	"strings"

	"xc5"
	"xc5/resource"
)

// maxAuditList bounds an audit listing without ?limit.
const maxAuditList = 1000

// audit answers GET …/account/{id}/audit: the writes within the
// account's subtree, newest first. A system-level caller asking about a
// top-level account also sees the writes to system-wide resources.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, c Caller, t Target, q map[string]string) error {
	if s.auditLog == nil {
		return xc5.Errorf(xc5.ENOTFOUND, "the audit trail is not available on this server")
	}
	acct, err := s.store.Get(r.Context(), c.Scope, resource.Account, "", t.Parent)
	if err != nil {
		return err
	}
	limit := maxAuditList
	if v, ok := q["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return xc5.Errorf(xc5.EINVALID, "limit must be an integer from 1 to %d", maxLimit)
		}
		limit = n
	}
	system := c.Scope == "" && strings.Count(acct.Path, "/") == 2
	b := []byte{'['}
	n := 0
	err = s.auditLog.ListAudit(r.Context(), acct.Path, system, limit, func(e xc5.AuditEntry) error {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendRecord(b, resource.Audit, resource.Record{GUID: e.GUID, Values: map[string]any{
			"guid": e.GUID, "at": apiTime(e.At), "account": e.Origin.Account, "source": e.Origin.Source, "method": e.Origin.Method,
			"path": e.Origin.Path, "resource": e.Resource, "record": e.Record, "before": e.Before, "after": e.After,
		}}, false)
		return r.Context().Err()
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, append(b, "]\n"...))
	return nil
}
