package filelog

import "sort"

// markEvery is the stride of the sparse index: the record of every
// sequence s with s%markEvery == markEvery-1 is indexed. Those are the
// records that complete the tree hashes of level 8 and up (hash (l, k)
// is completed by sequence ((k+1)<<l)-1), so reading one of those is one
// lookup, and any other record is at most markEvery-1 steps back along
// its workspace's chain from an indexed one. 10 M records of one
// workspace cost 39 063 marks of 16 bytes: 625 KB.
const markEvery = 256

// mark is one entry of the sparse index.
type mark struct {
	seq int64
	at  pos
}

// wsIndex is what the log keeps in memory of one workspace: its size,
// where its last record is, and the sparse index. marks only grows, and
// readers use a copy of the slice header taken under the log's lock, so
// an append never moves what they read.
type wsIndex struct {
	head  int64
	last  pos
	marks []mark
	// loaded is the group Open read last into it, to know which to
	// take back when that group is torn.
	loaded int64
}

// add records that sequence seq, the next one, is at p.
func (w *wsIndex) add(seq int64, p pos) {
	w.head, w.last = seq+1, p
	if seq%markEvery == markEvery-1 {
		w.marks = append(w.marks, mark{seq, p})
	}
}

// view is a reader's copy of a workspace's index.
type view struct {
	head  int64
	last  pos
	marks []mark
}

// locate returns the nearest record at or after seq that the index
// knows, from which the chain leads back to seq.
func (v view) locate(seq int64) (int64, pos) {
	i := sort.Search(len(v.marks), func(i int) bool { return v.marks[i].seq >= seq })
	if i < len(v.marks) {
		return v.marks[i].seq, v.marks[i].at
	}
	return v.head - 1, v.last
}
