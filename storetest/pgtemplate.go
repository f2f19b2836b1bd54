package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"xc5/sqlstore"
)

// PostgreSQL test databases. Migrating a fresh schema for every test cost
// 0.6–2 s a test (27 migrations, each its own commit, all behind one
// advisory lock that every test of every package queued on). Instead the
// migrations run once per machine, into a template database named after
// their digest, and each test gets a copy of it (CREATE DATABASE …
// TEMPLATE). The copy's schema is renamed to one of the test's own, since
// tests find their sessions and feed channels by it.
//
// Dropping a database forces a checkpoint (0.2–1.5 s here), so a test's
// copy is dropped in the background after it ends. A copy's name carries
// its process's id, and the process holds an advisory lock on that id
// while it lives: copies whose process is gone (killed, or exited before
// its last drops) are dropped by the next test process that starts.

// templateSchema is the schema the template's migrations run in.
const templateSchema = "xc5_template"

// templateLock is the advisory lock key (in the XC5_TEST_POSTGRES
// database) under which a test process makes the template if it is
// missing, so that packages tested at once make it once ("xc5t").
const templateLock = 0x78633574

// copyPrefix starts the names of the per-test databases: copyPrefix,
// the owner process's id, "_", a random part.
const copyPrefix = "xc5t_"

// templates holds each base URL's template, made once per process.
var templates struct {
	sync.Mutex
	m map[string]*template
}

// template is the migrated template database of one base URL.
type template struct {
	once  sync.Once
	admin *sql.DB // on the base database: creates and drops the copies
	name  string
	err   error
	owner int32          // this process's id in its copies' names
	drops chan string    // copies to drop, in the background
	ready chan readyCopy // copies made ahead, see prefetch
	alive *sql.Conn      // holds the owner lock while the process lives
}

// errNoCreateDB says the test role may not create databases; PostgresURL
// then migrates a schema per test, as before the templates.
var errNoCreateDB = errors.New("the test role may not create databases")

// templateFor returns base's template, making it on first use.
func templateFor(base string) *template {
	templates.Lock()
	if templates.m == nil {
		templates.m = map[string]*template{}
	}
	tp := templates.m[base]
	if tp == nil {
		tp = &template{name: "xc5tmpl_" + sqlstore.MigrationsDigest()[:16]}
		templates.m[base] = tp
	}
	templates.Unlock()
	tp.once.Do(func() {
		if tp.admin, tp.err = sql.Open("pgx", base); tp.err != nil {
			return
		}
		tp.admin.SetMaxIdleConns(4)
		if tp.err = tp.ensure(context.Background(), base); tp.err == nil {
			tp.err = tp.start(context.Background())
		}
		if tp.err == nil {
			tp.ready = make(chan readyCopy, 1)
			go tp.prefetch(base)
		}
	})
	return tp
}

// ensure makes the template unless another process has: under the
// advisory lock, it migrates a database of a temporary name and renames
// it when done, so a template that exists is complete.
func (tp *template) ensure(ctx context.Context, base string) error {
	conn, err := tp.admin.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return fmt.Errorf("template lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", templateLock)
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", tp.name).Scan(&exists); err != nil || exists {
		return err
	}
	building := tp.name + "_new" // left by a process killed while making it
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" { // insufficient_privilege
			return errNoCreateDB
		}
		return fmt.Errorf("create the template database: %w", err)
	}
	if err := migrateTemplate(ctx, withDatabase(base, building, templateSchema)); err != nil {
		return err
	}
	// Renaming waits for the migration's sessions to end; with
	// connections refused afterwards, none can block a copy.
	if _, err := conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+tp.name); err != nil {
		return err
	}
	if _, err = conn.ExecContext(ctx, "ALTER DATABASE "+tp.name+" ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	dropOldTemplates(ctx, conn, "xc5tmpl_", tp.name)
	return nil
}

// dropOldTemplates drops the databases named prefix… but keep, the
// templates of other migrations (an older checkout's), when a new one is
// made (only when the migrations change), so that they do not pile up at
// about 8 MB each; one being built (…_new) is left. One that a test process is copying
// at that moment cannot be dropped (PostgreSQL refuses while the copy
// reads it) and is left for the next new template.
func dropOldTemplates(ctx context.Context, conn *sql.Conn, prefix, keep string) {
	like := strings.ReplaceAll(prefix, "_", `\_`) + "%"
	rows, err := conn.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1 AND datname <> $2 AND datname NOT LIKE '%\_new'`, like, keep)
	if err != nil {
		return
	}
	var old []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			old = append(old, name)
		}
	}
	rows.Close()
	for _, name := range old {
		conn.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`"`)
	}
}

// migrateTemplate makes the template schema in the database at u and
// runs the migrations in it.
func migrateTemplate(ctx context.Context, u string) error {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+templateSchema); err != nil {
		return fmt.Errorf("template schema: %w", err)
	}
	if err := sqlstore.MigratePostgres(ctx, db); err != nil {
		return fmt.Errorf("migrate the template: %w", err)
	}
	return nil
}

// start takes an owner id for this process's copies, holding its lock
// for as long as the process lives, and starts the background dropper
// with the copies of processes that are gone.
func (tp *template) start(ctx context.Context) error {
	var err error
	if tp.alive, err = tp.admin.Conn(ctx); err != nil {
		return err
	}
	for ok := false; !ok; {
		var b [4]byte
		rand.Read(b[:])
		tp.owner = int32(binary.BigEndian.Uint32(b[:]) &^ (1 << 31))
		if err := tp.alive.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, $2)", templateLock, tp.owner).Scan(&ok); err != nil {
			return fmt.Errorf("owner lock: %w", err)
		}
	}
	tp.drops = make(chan string, 4096)
	orphans := tp.orphans(ctx)
	go func() {
		for _, name := range orphans {
			tp.drop(name)
		}
		for name := range tp.drops {
			tp.drop(name)
		}
	}()
	return nil
}

// orphans lists the copies whose owner process is gone: its lock is free.
func (tp *template) orphans(ctx context.Context) []string {
	rows, err := tp.admin.QueryContext(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", copyPrefix)
	if err != nil {
		return nil
	}
	byOwner := map[int32][]string{}
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(name, copyPrefix), "_")
		if n, err := strconv.ParseInt(id, 10, 32); err == nil && int32(n) != tp.owner {
			byOwner[int32(n)] = append(byOwner[int32(n)], name)
		}
	}
	rows.Close()
	var out []string
	for id, names := range byOwner {
		var free bool
		// The lock taken on alive is held until the process ends: a
		// dead owner's id is not reused meanwhile.
		if tp.alive.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, $2)", templateLock, id).Scan(&free) == nil && free {
			out = append(out, names...)
		}
	}
	return out
}

// drop drops a copy, ending any session left on it.
func (tp *template) drop(name string) {
	tp.admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
}

// copyTemplate gives t a copy of the template, dropped when t ends, and
// returns its URL.
func (tp *template) copyTemplate(t testing.TB) string {
	c := <-tp.ready
	if c.err != nil {
		t.Fatal(c.err)
	}
	t.Cleanup(func() {
		select {
		case tp.drops <- c.name:
		default: // the dropper is far behind: wait for this one
			tp.drop(c.name)
		}
	})
	return c.url
}

// readyCopy is a copy made ahead of the test that will take it.
type readyCopy struct {
	name, url string
	err       error
}

// prefetch keeps tp.ready full, so that a test takes a copy made while
// the tests before it ran, rather than wait for one (0.2–0.6 s here).
func (tp *template) prefetch(base string) {
	for {
		c := readyCopy{name: copyPrefix + strconv.FormatInt(int64(tp.owner), 10) + "_" + randomID()}
		c.url, c.err = tp.makeCopy(base, c.name)
		tp.ready <- c
	}
}

// makeCopy creates the database name as a copy of the template, with its
// schema renamed to one of its own, and returns its URL.
func (tp *template) makeCopy(base, name string) (string, error) {
	ctx := context.Background()
	schema := "t_" + name[strings.LastIndexByte(name, '_')+1:]
	if _, err := tp.admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tp.name); err != nil {
		return "", fmt.Errorf("copy the template database: %w", err)
	}
	db, err := sql.Open("pgx", withDatabase(base, name, ""))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ALTER SCHEMA "+templateSchema+" RENAME TO "+schema); err != nil {
		return "", fmt.Errorf("rename the test schema: %w", err)
	}
	return withDatabase(base, name, schema), nil
}

// withDatabase returns base with its database (and search_path, unless
// schema is "") replaced.
func withDatabase(base, db, schema string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", EnvPostgres, err)) // PostgresURL parsed it already
	}
	u.Path = "/" + db
	if schema != "" {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// randomID is a fresh lower-case hex name part.
func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
