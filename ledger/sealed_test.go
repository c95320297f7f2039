package ledger_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// sealedVector is one entry of testdata/sealed-leaves.json: a sample
// event sealed with fixed salts, data key and nonce (which are random in
// the store), giving its version 2 leaf, the payload, and the sealed
// payload (nonce || AES-256-GCM ciphertext with the leaf hash as
// associated data).
type sealedVector struct {
	Name     string   `json:"name"`
	KeyID    string   `json:"key_id"`
	DataKey  string   `json:"data_key"` // hex
	Nonce    string   `json:"nonce"`    // hex
	Salts    []string `json:"salts"`    // hex, by ledger.SealedFields index
	Leaf     string   `json:"leaf"`
	LeafHash string   `json:"leaf_hash"`
	Payload  string   `json:"payload"`
	Sealed   string   `json:"sealed"` // hex
}

// vectorSalts are fixed salts: salt i is 32 bytes of value i+1.
func vectorSalts() *ledger.Salts {
	var s ledger.Salts
	for i := range s {
		for j := range s[i] {
			s[i][j] = byte(i + 1)
		}
	}
	return &s
}

func sealVector(t *testing.T, name string, e vigil.Event) sealedVector {
	t.Helper()
	key := bytes.Repeat([]byte{0x42}, 32)
	nonce := bytes.Repeat([]byte{0x24}, 12)
	salts := vectorSalts()
	seal, payload := ledger.SealFields(&e, "dk1/default/2024-06", salts)
	e.Seal = seal
	leaf := ledger.AppendEvent(nil, &e)
	h := ledger.LeafHash(leaf)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	sealed := aead.Seal(append([]byte(nil), nonce...), nonce, payload, h[:])
	v := sealedVector{Name: name, KeyID: seal.KeyID, DataKey: hex.EncodeToString(key), Nonce: hex.EncodeToString(nonce),
		Leaf: string(leaf), LeafHash: h.String(), Payload: string(payload), Sealed: hex.EncodeToString(sealed)}
	for i := range salts {
		v.Salts = append(v.Salts, hex.EncodeToString(salts[i][:]))
	}
	return v
}

func TestSealedLeafVectors(t *testing.T) {
	events := sampleEvents()
	if *update {
		var vs []sealedVector
		for i, e := range events {
			vs = append(vs, sealVector(t, vectorNames[i], e))
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile("testdata/sealed-leaves.json", append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var vectors []sealedVector
	if err := json.Unmarshal(readTestdata(t, "sealed-leaves.json"), &vectors); err != nil {
		t.Fatal(err)
	}
	if len(vectors) != len(events) {
		t.Fatalf("%d vectors for %d sample events", len(vectors), len(events))
	}
	for i, want := range vectors {
		got := sealVector(t, vectorNames[i], events[i])
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: sealed vector\n got %+v\nwant %+v", want.Name, got, want)
			continue
		}
		// The leaf names no identifying value, reads back with its seal,
		// is its own canonical form, and the payload opens into the event.
		for _, v := range ledger.SealedValues(&events[i]) {
			quoted, _ := json.Marshal(string(v)) // a string member's value, or a JSON value as it is
			if len(v) > 0 && (strings.Contains(want.Leaf, string(quoted)) || strings.Contains(want.Leaf, string(v)) && len(v) > 8) {
				t.Errorf("%s: the leaf holds the value %q", want.Name, v)
			}
		}
		e, err := ledger.ParseEvent([]byte(want.Leaf))
		if err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		if e.Seal == nil || e.Seal.KeyID != want.KeyID || e.ActorID != "" {
			t.Fatalf("%s: parsed as %+v", want.Name, e)
		}
		if c, err := ledger.Canonicalize([]byte(want.Leaf)); err != nil || string(c) != want.Leaf {
			t.Errorf("%s: the leaf is not RFC 8785 canonical", want.Name)
		}
		if string(ledger.AppendEvent(nil, &e)) != want.Leaf {
			t.Errorf("%s: the parsed leaf does not write back to its bytes", want.Name)
		}
		if err := ledger.OpenFields(&e, []byte(want.Payload)); err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		e.Seal = nil
		if !reflect.DeepEqual(e, events[i]) {
			t.Errorf("%s: opened as\n%+v\nwant\n%+v", want.Name, e, events[i])
		}
	}
}

func TestSealedLeafIsStrict(t *testing.T) {
	v := sealVector(t, "every field", sampleEvents()[1])
	for name, leaf := range map[string]string{
		"a version 1 leaf with commitments":   strings.Replace(v.Leaf, `"v":2`, `"v":1`, 1),
		"a version 2 leaf with a clear field": strings.Replace(v.Leaf, `"action":`, `"actor_id":"dr_x","action":`, 1),
		"no key_id":                           strings.Replace(v.Leaf, `"key_id":"dk1/default/2024-06",`, ``, 1),
		"an unknown committed field":          strings.Replace(v.Leaf, `"commitments":{"actor_id"`, `"commitments":{"actor_idx"`, 1),
		"a commitment in upper case":          strings.Replace(v.Leaf, v.Leaf[strings.Index(v.Leaf, `"actor_id":"`)+12:strings.Index(v.Leaf, `"actor_id":"`)+14], "AB", 1),
		"a short commitment":                  strings.Replace(v.Leaf, `"actor_id":"`, `"actor_id":"00`, 1),
	} {
		if _, err := ledger.ParseEvent([]byte(leaf)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	e, err := ledger.ParseEvent([]byte(v.Leaf))
	if err != nil {
		t.Fatal(err)
	}
	// A payload whose value was changed, or that belongs to another event,
	// does not open.
	for name, payload := range map[string]string{
		"a changed value":   strings.Replace(v.Payload, "dr_m4k8p2", "dr_m4k8p3", 1),
		"another's payload": sealVector(t, "minimal", sampleEvents()[0]).Payload,
		"a missing field":   strings.Replace(v.Payload, `"user_agent":`, `"user_agentx":`, 1),
	} {
		c := e
		if err := ledger.OpenFields(&c, []byte(payload)); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}
