// Package archtest holds the layout's rules, which package of the module
// may import which, and checks them against what the go command reports
// of the tree (TestImportRules). The table below is the one place a
// package is placed: a package it does not name fails the test, so a new
// package is placed deliberately, and docs/architecture.md shows the same
// table (TestArchitectureDocShowsTheRules).
package archtest

// Module is the module path the package paths below are relative to.
const Module = "github.com/vigilhq/vigil"

// Rule is what one package of the module may import of the module. Paths
// are relative to the module; "." is the root package, vigil.
type Rule struct {
	// Imports are the packages its code may import.
	Imports []string
	// Tests are the packages its tests (in-package and external) may
	// import besides Imports and the package itself: tests assemble real
	// components (a server over a real store), code depends only on what
	// it needs.
	Tests []string
	// Command marks a main package, which composes the others: it may
	// import every package of the module except the test helpers.
	Command bool
	// TestHelper marks a package written for tests (a conformance suite,
	// a reference implementation): only tests may import it.
	TestHelper bool
}

// Rules places every package of the module. To add a package, add its
// line here and the same row to the table in docs/architecture.md (the
// test prints the row).
var Rules = map[string]Rule{
	".":                 {Tests: []string{"ledger"}},
	"alert":             {Imports: []string{"."}, Tests: []string{"alert/alerttest"}},
	"alert/alerttest":   {Imports: []string{".", "alert"}, TestHelper: true},
	"anchor":            {Imports: []string{".", "ledger"}, Tests: []string{"anchor/anchortest", "embedded", "sqlite"}},
	"anchor/anchortest": {Imports: []string{"anchor"}, TestHelper: true},
	"api":               {},
	"backup":            {Imports: []string{".", "internal/private", "ledger"}, Tests: []string{"filelog", "sqlite", "storetest"}},
	"bench/workload":    {Imports: []string{".", "api"}, Tests: []string{"ledger"}},
	"cadf":              {Imports: []string{"."}},
	"client":            {Imports: []string{"api", "internal/private"}, Tests: []string{".", "embedded", "http", "ledger", "sqlite"}},
	"cmd/vigil":         {Command: true},
	"console":           {Imports: []string{".", "api", "cadf", "fhir", "http", "ledger", "report"}, Tests: []string{"embedded", "sqlite"}},
	"crypt":             {Imports: []string{".", "internal/private", "ledger"}, Tests: []string{"sqlite"}},
	"fhir":              {Imports: []string{"."}, Tests: []string{"ledger"}},
	"embedded":          {Imports: []string{".", "crypt", "engine", "filelog", "ledger", "sqlite"}, Tests: []string{"fhir", "storetest"}},
	"engine":            {Imports: []string{".", "crypt", "ledger"}, Tests: []string{"storetest"}},
	"filelog":           {Imports: []string{".", "internal/private"}, Tests: []string{"storetest"}},
	"geoip":             {},
	"http":              {Imports: []string{".", "alert", "api", "cadf", "fhir", "ledger"}, Tests: []string{"anchor", "anchor/anchortest", "console", "embedded", "geoip", "notify", "report", "sqlite"}},
	"internal/archtest": {},
	"internal/doccheck": {},
	"internal/private":  {},
	"ledger":            {Imports: []string{"."}},
	"nats":              {Imports: []string{"."}},
	"notify":            {Imports: []string{"."}, Tests: []string{"embedded", "sqlite"}},
	"postgres":          {Imports: []string{"."}, Tests: []string{"storetest"}},
	"report":            {Imports: []string{".", "alert", "internal/private", "ledger"}, Tests: []string{"embedded", "sqlite"}},
	"sqlite":            {Imports: []string{".", "alert", "crypt", "internal/private", "ledger"}, Tests: []string{"alert/alerttest", "embedded", "fhir", "storetest"}},
	"storetest":         {Imports: []string{".", "ledger"}, TestHelper: true},
	"stream":            {Imports: []string{".", "fhir"}, Tests: []string{"embedded", "ledger", "sqlite", "stream/streamtest"}},
	"stream/streamtest": {TestHelper: true},
}

// Confined are the dependencies made for one concern, by module path,
// with the packages whose code may import them: one package per
// dependency keeps the database driver, the geolocation reader, the file
// formats, the time-stamp protocol, the sign-in protocols, and the object store client and the encryption of backups behind the
// packages that own them. Tests are free to reach them (a test opens the
// database file with the driver to tamper with it, as an intruder would).
var Confined = map[string][]string{
	"github.com/coreos/go-oidc/v3":            {"console"},
	"github.com/digitorus/pkcs7":              {"anchor"},
	"github.com/digitorus/timestamp":          {"anchor"},
	"filippo.io/age":                          {"backup"},
	"github.com/go-pdf/fpdf":                  {"report"},
	"github.com/jackc/pgx/v5":                 {"postgres"},
	"github.com/nats-io/nats.go":              {"nats"},
	"github.com/oschwald/maxminddb-golang/v2": {"geoip"},
	"github.com/minio/minio-go/v7":            {"backup"},
	"github.com/parquet-go/parquet-go":        {"report"},
	"github.com/pquerna/otp":                  {"console"},
	"modernc.org/sqlite":                      {"sqlite"},
}
