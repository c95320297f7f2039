package workload

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Template is a request body encoded once, for a load generator that
// must not be what limits the server: Fill writes the numbers of the
// next events into it in place (fixed-width digits), so sending a request
// costs no encoding and no allocation.
type Template struct {
	buf     []byte
	numbers [][]int // per event: offsets of its number (resource_id, metadata n)
	patient []int   // per event: offset of its patient's five digits
}

// sentinel is the number the template is encoded with; its digits mark
// where each event's number goes.
const sentinel int64 = 4_817_263_950_471

// NewSingle is the body of POST /api/v1/events: one event of writer w.
func NewSingle(w int) (*Template, error) { return newTemplate(w, 1, false) }

// NewBatch is the body of POST /api/v1/events/batch: size events of
// writer w.
func NewBatch(w, size int) (*Template, error) { return newTemplate(w, size, true) }

func newTemplate(w, size int, batch bool) (*Template, error) {
	one, err := json.Marshal(Input(w, sentinel))
	if err != nil {
		return nil, err
	}
	num := []byte(fmt.Sprint(sentinel))
	pat := []byte(`"` + patient(sentinel) + `"`)
	t := &Template{}
	if batch {
		t.buf = append(t.buf, `{"events":[`...)
	}
	for i := range size {
		if i > 0 {
			t.buf = append(t.buf, ',')
		}
		base := len(t.buf)
		var at []int
		for off := 0; ; {
			j := bytes.Index(one[off:], num)
			if j < 0 {
				break
			}
			at = append(at, base+off+j)
			off += j + len(num)
		}
		p := bytes.Index(one, pat)
		if len(at) != 2 || p < 0 || bytes.Count(one, pat) != 1 {
			return nil, fmt.Errorf("workload: the template of writer %d does not hold its number twice and its patient once: %s", w, one)
		}
		t.numbers = append(t.numbers, at)
		t.patient = append(t.patient, base+p+len(`"pt_`))
		t.buf = append(t.buf, one...)
	}
	if batch {
		t.buf = append(t.buf, `]}`...)
	}
	return t, nil
}

// Events is how many events the body holds.
func (t *Template) Events() int { return len(t.numbers) }

// Fill makes the body hold events first, first+1, ... of its writer and
// returns it. The bytes are the template's own: they change at the next
// Fill.
func (t *Template) Fill(first int64) []byte {
	if first < First || first+int64(len(t.numbers))-1 > Last {
		panic(fmt.Sprintf("workload: event number %d outside %d..%d", first, First, Last))
	}
	for i, at := range t.numbers {
		n := first + int64(i)
		for _, off := range at {
			putDigits(t.buf[off:off+13], n)
		}
		putDigits(t.buf[t.patient[i]:t.patient[i]+5], n%Patients)
	}
	return t.buf
}

// putDigits writes n into dst right-aligned, zero-padded.
func putDigits(dst []byte, n int64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}
