package sqlstore

// Import of a dump made by Export: streamed token by token, each row
// checked by the resource descriptions the API uses, written in
// multi-row INSERTs inside one transaction.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"xc5"
	"xc5/resource"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// DryRun checks the whole dump and writes nothing.
	DryRun bool
	// Progress, when set, is called now and then with the bytes read so far.
	Progress func(read int64)
}

// ImportReport counts what an import read (and, unless a dry run, wrote).
type ImportReport struct {
	Rows map[string]int
}

// Total is the count of rows of every table.
func (r ImportReport) Total() int {
	n := 0
	for _, c := range r.Rows {
		n += c
	}
	return n
}

// ImportProblems is every problem an import found, each with its place in
// the dump. Its code is EINVALID.
type ImportProblems []string

func (p ImportProblems) Error() string {
	return fmt.Sprintf("%d problem(s) in the dump:\n%s", len(p), strings.Join(p, "\n"))
}

// Unwrap gives the domain code (EINVALID) to xc5.ErrorCode.
func (p ImportProblems) Unwrap() error { return xc5.Errorf(xc5.EINVALID, "%s", p.Error()) }

// maxProblems bounds the problems kept: a dump that is wrong throughout
// (the wrong file) should not hold memory for each of its rows.
const maxProblems = 1000

// importBatchParams bounds the parameters of one INSERT: under SQLite's
// 32766 and PostgreSQL's 65535.
const importBatchParams = 30000

// importBatchValues bounds the values of one batch (a COPY on
// PostgreSQL, INSERTs of at most importBatchParams on SQLite); with the
// two batches queued between reader and writer, it bounds the memory.
const importBatchValues = 60000

// Import loads a dump into an empty database, in one transaction: it all
// arrives or nothing does.
func (s *Store) Import(ctx context.Context, in io.Reader) error {
	_, err := s.ImportDump(ctx, in, ImportOptions{})
	return err
}

// ImportDump is Import with options. The dump is read as a stream, so
// memory stays bounded by a batch of rows (and the sets of keys that the
// cross-row checks keep). Every row is checked: each field that the API
// accepts through the resource descriptions (type, range, check, enum),
// unique GUIDs, usernames and numbers, and references to accounts earlier
// in the dump. Any problem fails the import (ImportProblems, all of them
// listed with their place, "tables.accounts[12] (byte 3456)"); nothing is
// written then, nor ever on a dry run.
func (s *Store) ImportDump(ctx context.Context, in io.Reader, opt ImportOptions) (ImportReport, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&n); err != nil {
		return ImportReport{}, err
	}
	schema, err := s.importSchema(ctx)
	if err != nil {
		return ImportReport{}, err
	}
	im := &importer{s: s, cr: &countingReader{r: in}, opt: opt, rep: ImportReport{Rows: map[string]int{}}, seen: newImportKeys(), schema: schema}
	if n > 0 {
		im.problem("database", "import needs an empty database; this one has %d accounts", n)
	}
	// Duplicate names are allowed by the decoder (its check costs a set
	// per object) and refused by scanRow, as a problem of the row.
	im.dec = jsontext.NewDecoder(im.cr, jsontext.AllowDuplicateNames(true))
	if opt.DryRun {
		err := im.document(ctx)
		return im.rep, im.result(err)
	}
	err = s.w.doBulk(ctx, im.pipeline)
	if err == nil {
		s.emit(resource.Change{}, 0) // everything changed
	}
	return im.rep, err
}

// importer holds one import's state.
type importer struct {
	s        *Store
	cr       *countingReader
	dec      *jsontext.Decoder
	scratch  []byte // unquoted names and strings with escapes
	opt      ImportOptions
	rep      ImportReport
	problems ImportProblems
	dropped  int
	seen     *importKeys
	lastProg int64
	bounded  int64 // the size bound set last (bound)
	schema   map[string]*importTable
	// jobs carries the writes from the reader to the writer; nil on a
	// dry run.
	jobs chan importJob
	// ddl is what the writer drops as each table's first rows come and
	// makes again at the end (PostgreSQL only; importddl.go).
	ddl *deferredDDL
}

// importJob is one write of the import: a batch, or a sequence's reset.
type importJob func(ctx context.Context, q execer) error

// pipeline reads and checks the dump in one goroutine while the
// transaction's connection writes what it has read in this one, so that
// parsing JSON and the database's work overlap.
func (im *importer) pipeline(ctx context.Context, q execer) error {
	if im.s.d == sqliteDialect {
		// The indexes of 300,000 rows outgrow SQLite's 2 MB page cache, and
		// each page read again is a system call: give the import's
		// connection a larger cache while it runs (memory only as used).
		var was int64
		if err := q.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&was); err == nil {
			q.ExecContext(ctx, "PRAGMA cache_size = -65536") // 64 MiB
			defer q.ExecContext(context.Background(), "PRAGMA cache_size = "+strconv.FormatInt(was, 10))
		}
	}
	if im.s.d == postgresDialect {
		var err error
		if im.ddl, err = pgDeferredDDL(ctx, q); err != nil {
			return err
		}
	}
	im.jobs = make(chan importJob, 2)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var readErr error
	go func() {
		defer close(im.jobs)
		readErr = im.document(rctx)
	}()
	var writeErr error
	for job := range im.jobs {
		if writeErr == nil {
			if writeErr = job(ctx, q); writeErr != nil {
				cancel()
			}
		}
	}
	if writeErr != nil {
		return writeErr
	}
	if err := im.result(readErr); err != nil {
		return err
	}
	if im.ddl == nil {
		return nil
	}
	return im.ddl.restore(ctx, q)
}

// write queues a job for the writer, unless this is a dry run or a
// problem was found (after which the rest is only checked).
func (im *importer) write(ctx context.Context, job importJob) error {
	if im.jobs == nil || len(im.problems) > 0 {
		return nil
	}
	select {
	case im.jobs <- job:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (im *importer) problem(place, format string, args ...any) {
	if len(im.problems) >= maxProblems {
		im.dropped++
		return
	}
	im.problems = append(im.problems, place+": "+fmt.Sprintf(format, args...))
}

// result is the import's outcome: the fatal error, else the problems.
func (im *importer) result(err error) error {
	if err == nil && len(im.problems) > 0 {
		if im.dropped > 0 {
			im.problems = append(im.problems, fmt.Sprintf("… and %d more problems", im.dropped))
		}
		return im.problems
	}
	if errors.Is(err, errStopped) {
		return im.problems
	}
	if err != nil && len(im.problems) > 0 {
		return fmt.Errorf("%w (after %s)", err, im.problems.Error())
	}
	return err
}

func (im *importer) at(path string) string {
	return fmt.Sprintf("%s (byte %d)", path, im.dec.InputOffset())
}

// document reads the top-level object: format and version first (as
// Export writes them), then the tables.
func (im *importer) document(ctx context.Context) error {
	if err := im.delim('{', "the document"); err != nil {
		return err
	}
	var format string
	var version int64
	for im.dec.PeekKind() != '}' {
		key, err := im.key()
		if err != nil {
			return err
		}
		switch key {
		case "format":
			if err := im.decode("format", &format); err != nil {
				return err
			}
		case "version":
			var v json.Number
			if err := im.decode("version", &v); err != nil {
				return err
			}
			version, _ = v.Int64()
		case "tables":
			if format != ExportFormat || version != ExportVersion {
				return invalid("not an xc5 export of version %d (format %q, version %d, before \"tables\")", ExportVersion, format, version)
			}
			if err := im.tables(ctx); err != nil {
				return err
			}
		default:
			if err := im.dec.SkipValue(); err != nil {
				return im.syntax(key, err)
			}
		}
	}
	if format != ExportFormat || version != ExportVersion {
		return invalid("not an xc5 export of version %d (format %q, version %d)", ExportVersion, format, version)
	}
	return nil
}

func (im *importer) tables(ctx context.Context) error {
	if err := im.delim('{', "tables"); err != nil {
		return err
	}
	for im.dec.PeekKind() != '}' {
		name, err := im.key()
		if err != nil {
			return err
		}
		if !slices.Contains(exportTables, name) {
			return invalid("%s: unknown table %q", im.at("tables"), name)
		}
		if err := im.table(ctx, name); err != nil {
			return err
		}
	}
	if _, err := im.dec.ReadToken(); err != nil {
		return im.syntax("tables", err)
	}
	return nil
}

// table streams one table's rows into batches of one column set each.
func (im *importer) table(ctx context.Context, name string) error {
	if err := im.delim('[', "tables."+name); err != nil {
		return err
	}
	t := im.schema[name]
	b := &importBatch{table: name, oneByOne: im.s.d == sqliteDialect}
	check := newRowCheck(t)
	var r scannedRow
	deferred := false // this table's keys and indexes dropped (PostgreSQL)
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		im.bound(maxRowOf(name))
		if im.dec.PeekKind() == ']' {
			break
		}
		offset := im.dec.InputOffset()
		place := func() string { return fmt.Sprintf("tables.%s[%d] (byte %d)", name, i, offset) }
		if err := im.scanRow(t, &r); err != nil {
			return im.syntax(fmt.Sprintf("tables.%s[%d]", name, i), err)
		}
		im.rep.Rows[name]++
		im.progress()
		if !im.row(place, &r, check) || im.jobs == nil {
			continue
		}
		if !b.fits(r.given) {
			if err := im.write(ctx, b.take(place())); err != nil {
				return err
			}
		}
		if im.ddl != nil && !deferred {
			deferred = true
			ddl := im.ddl // the writer's, like every job
			if err := im.write(ctx, func(ctx context.Context, q execer) error { return ddl.forTable(ctx, q, name) }); err != nil {
				return err
			}
		}
		b.add(t, &r)
		if b.full() {
			if err := im.write(ctx, b.take(place())); err != nil {
				return err
			}
		}
	}
	im.bound(maxImportRow)
	if _, err := im.dec.ReadToken(); err != nil {
		return im.syntax("tables."+name, err)
	}
	if err := im.write(ctx, b.take("tables."+name)); err != nil {
		return err
	}
	if im.s.d == postgresDialect && name != "settings" {
		return im.write(ctx, func(ctx context.Context, q execer) error {
			_, err := q.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+name+"', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM "+name+"), 1))")
			return err
		})
	}
	return nil
}

// row checks one scanned row, in place (GUIDs put in upper case); false
// when it has a problem (recorded at place()). The checks: the table's
// columns (known, given once, of their kind, the required ones given),
// the resource description's fields and cross-field rules, GUIDs, and
// the keys and references across rows (importKeys).
func (im *importer) row(place func() string, r *scannedRow, check *rowCheck) bool {
	t := check.table
	if r.given == 0 && len(r.problems) == 0 {
		im.problem(place(), "a row with no columns")
		return false
	}
	ok := true
	bad := func(format string, args ...any) {
		im.problem(place(), format, args...)
		ok = false
	}
	for _, p := range r.problems {
		bad("%s", p)
	}
	if r.given == 0 && !ok {
		return false // not an object, or only unknown columns: nothing more to say
	}
	for i, name := range t.names {
		if !r.has(i) {
			continue
		}
		if msg := t.cols[i].check(r.vals[i]); msg != "" {
			bad("column %s %s", name, msg)
			continue
		}
		if str, isStr := r.vals[i].(string); isStr && check.guidCol[i] {
			r.vals[i] = strings.ToUpper(str) // GUIDs are stored in upper case
		}
	}
	for _, i := range t.required {
		if !r.has(i) {
			bad("column %s is missing (it has no default)", t.names[i])
		}
	}
	if !ok {
		return false
	}
	if g := r.str(check.keys.guid); g != "" && !resource.IsGUID(g) {
		bad("guid %q is not a GUID", g)
	}
	for _, p := range check.fields(r) {
		bad("%s", p)
	}
	for _, p := range im.seen.check(t.name, &check.keys, r) {
		bad("%s", p)
	}
	return ok
}

func (im *importer) progress() {
	if im.opt.Progress == nil || im.cr.n-im.lastProg < 1<<20 {
		return
	}
	im.lastProg = im.cr.n
	im.opt.Progress(im.cr.n)
}

func (im *importer) key() (string, error) {
	im.bound(maxImportRow)
	t, err := im.dec.ReadToken()
	if err != nil {
		return "", im.syntax("key", err)
	}
	if t.Kind() != '"' {
		return "", invalid("%s: expected a key, found %s", im.at("document"), kindName(t.Kind()))
	}
	return t.String(), nil
}

func (im *importer) delim(want jsontext.Kind, what string) error {
	im.bound(maxImportRow)
	t, err := im.dec.ReadToken()
	if err != nil {
		return im.syntax(what, err)
	}
	if t.Kind() != want {
		return invalid("not an xc5 export: %s: expected %q, found %s", im.at(what), rune(want), kindName(t.Kind()))
	}
	return nil
}

// decode reads the next value into v (encoding/json's rules).
func (im *importer) decode(what string, v any) error {
	im.bound(maxImportRow)
	raw, err := im.dec.ReadValue()
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		return im.syntax(what, err)
	}
	return nil
}

// syntax reports a document that cannot be read further.
func (im *importer) syntax(where string, err error) error {
	if errors.Is(err, errTooLarge) {
		im.problem(im.at(where), "larger than a dump's row can be (%d MiB in this table; see docs/cluster.md); the import stopped reading at byte %d",
			im.bounded>>20, im.cr.n)
		return errStopped
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalid("not an xc5 export: %s: the document ends early", im.at(where))
	}
	return invalid("not an xc5 export: %s: %v", im.at(where), err)
}

// bound lets the decoder read at most size bytes past where it stands
// (and what it may have read ahead), so that one huge value in a spoiled
// or hostile dump is refused instead of held.
func (im *importer) bound(size int64) {
	im.bounded = size
	im.cr.limit = im.dec.InputOffset() + size + 2*importReadChunk
}
