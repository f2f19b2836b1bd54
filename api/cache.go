package api

import (
	"strings"
	"sync"

	"xc5/resource"
)

// maxCacheBytes bounds the rendered-account cache.
const maxCacheBytes = 64 << 20

// accountCache keeps rendered GET /api-sys/account/{id} answers. Reading
// an account from SQLite costs several times a whole bare HTTP request;
// the cache makes the hot read a map lookup. Entries are dropped by the
// store's change notifications, which arrive before a write is
// acknowledged, and a generation counter keeps a read that raced a write
// from putting a stale body back. It is only used where every write passes
// through this process (one SQLite node): another node's writes arrive
// later than that.
type accountCache struct {
	mu     sync.Mutex
	gen    uint64
	bytes  int
	byGUID map[string]*cachedAccount
	byName map[string]*cachedAccount
}

type cachedAccount struct {
	guid, username, path string
	body                 []byte
}

func newAccountCache() *accountCache {
	return &accountCache{byGUID: map[string]*cachedAccount{}, byName: map[string]*cachedAccount{}}
}

// get returns the cached body of the account id names, if the caller's
// scope may see it, and the generation to hand to put on a miss.
func (c *accountCache) get(id string, scope resource.Scope) ([]byte, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.byGUID[strings.ToUpper(id)]
	if e == nil {
		e = c.byName[strings.ToLower(id)]
	}
	if e == nil || !strings.HasPrefix(e.path, string(scope)) {
		return nil, c.gen
	}
	return e.body, c.gen
}

// put caches a body read at generation gen, unless a change came since.
func (c *accountCache) put(gen uint64, rec resource.Record, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.bytes+len(body) > maxCacheBytes {
		c.clearLocked()
	}
	e := &cachedAccount{guid: rec.GUID, username: rec.Values["username"].(string), path: rec.Path, body: body}
	c.byGUID[e.guid], c.byName[e.username] = e, e
	c.bytes += len(body)
}

// drop forgets one account (all when guid is "").
func (c *accountCache) drop(guid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if guid == "" {
		c.clearLocked()
		return
	}
	if e := c.byGUID[guid]; e != nil {
		delete(c.byGUID, guid)
		delete(c.byName, e.username)
		c.bytes -= len(e.body)
	}
}

// changed forgets an account that was written. Unless it is known not to
// have moved (cached before with the same path), its descendants' cached
// paths may be stale too, so everything goes.
func (c *accountCache) changed(guid, path string) {
	c.mu.Lock()
	e := c.byGUID[guid]
	stayed := e != nil && path != "" && e.path == path
	c.mu.Unlock()
	if !stayed {
		guid = ""
	}
	c.drop(guid)
}

func (c *accountCache) clearLocked() {
	c.byGUID, c.byName, c.bytes = map[string]*cachedAccount{}, map[string]*cachedAccount{}, 0
}
