package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// A generation is one backup: its manifest, the chunks it added, its
// state snapshot and files. Its manifest names every chunk of every
// generation before it too, so the latest manifest alone restores.
//
// Object names carry no workspace or patient data, only numbers:
//
//	manifests/<generation>.manifest
//	log/<generation>/<n>.chunk
//	state/<generation>.state
//	files/<generation>/<name>
//
// Generations are 20-digit decimals, so lexical order is numeric order.
const (
	manifestDir    = "manifests/"
	manifestSuffix = ".manifest"
	// manifestHeader is the first line of a manifest's signed text: a
	// note whose first line is not an origin followed by a size cannot be
	// taken for a checkpoint, nor a checkpoint for a manifest.
	manifestHeader = "vigil backup manifest v1\n"
)

func manifestName(gen int64) string {
	return fmt.Sprintf("%s%020d%s", manifestDir, gen, manifestSuffix)
}
func chunkName(gen int64, n int) string {
	return fmt.Sprintf("log/%020d/%06d.chunk", gen, n)
}
func stateName(gen int64) string             { return fmt.Sprintf("state/%020d.state", gen) }
func fileName(gen int64, name string) string { return fmt.Sprintf("files/%020d/%s", gen, name) }

// generationOf parses a manifest's object name.
func generationOf(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, manifestDir)
	if !ok {
		return 0, false
	}
	if s, ok = strings.CutSuffix(s, manifestSuffix); !ok || len(s) != 20 {
		return 0, false
	}
	g, err := strconv.ParseInt(s, 10, 64)
	return g, err == nil && g > 0
}

// Manifest is what one generation holds, signed with the ledger's note
// key and encrypted with the backup key.
type Manifest struct {
	Generation int64     `json:"generation"`
	Created    time.Time `json:"created"`
	// Previous is the SHA-256 of the previous generation's manifest
	// object, empty for the first: the generations form a chain.
	Previous   string              `json:"previous,omitempty"`
	Workspaces []WorkspaceManifest `json:"workspaces"`
	// State is the snapshot of the state database.
	State *Object `json:"state,omitempty"`
	// Files are the data directory's other files (the ledger key).
	Files []Object `json:"files,omitempty"`
}

// WorkspaceManifest is the backed-up log of one workspace: the events
// [0, Size), in Chunks, whose tree is the signed Checkpoint's, and the
// events [Size, Events) past the checkpoint that the state snapshot had
// already applied.
type WorkspaceManifest struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// Events, when above Size, is how many events the chunks hold: the
	// state snapshot held events past the latest checkpoint, and a
	// restored state must never be ahead of its log (the engine would
	// refuse it). Tree is then the root of the tree of Events events
	// (standard base64), covered by the manifest's signature as the
	// checkpoint is by its own, with the same key.
	Events int64  `json:"events,omitempty"`
	Tree   string `json:"tree,omitempty"`
	// Root is the checkpoint's root (standard base64), repeated from the
	// note so the manifest reads on its own.
	Root string `json:"root"`
	// Checkpoint is the signed note of the latest checkpoint, of Size.
	Checkpoint string  `json:"checkpoint"`
	Chunks     []Chunk `json:"chunks"`
}

// events is how many events the workspace's chunks hold.
func (w WorkspaceManifest) events() int64 { return max(w.Size, w.Events) }

// treeRoot is the root of the tree of every event the chunks hold.
func (w WorkspaceManifest) treeRoot() string {
	if w.Events > w.Size {
		return w.Tree
	}
	return w.Root
}

// Chunk is an object holding the events [First, First+Count) of a
// workspace's log.
type Chunk struct {
	Object string `json:"object"`
	First  int64  `json:"first"`
	Count  int64  `json:"count"`
	// SHA256 is of the object as stored (encrypted), in hex: it is checked
	// before a byte is decrypted.
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Object is a stored object other than a chunk.
type Object struct {
	// Name is the file's name in the data directory.
	Name   string `json:"name"`
	Object string `json:"object"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// signManifest returns the manifest as a signed note.
func signManifest(m *Manifest, skey string) ([]byte, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("backup: signing key: %w", err)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: manifestHeader + string(body) + "\n"}, signer)
}

// openManifest verifies a signed manifest with the trusted verifier key.
func openManifest(signed []byte, vkey string) (*Manifest, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("backup: verifier key: %w", err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("the signature does not verify with %s: %w", v.Name(), err)
	}
	body, ok := strings.CutPrefix(n.Text, manifestHeader)
	if !ok {
		return nil, fmt.Errorf("the signed note is not a backup manifest")
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("the manifest does not parse: %w", err)
	}
	return &m, nil
}
