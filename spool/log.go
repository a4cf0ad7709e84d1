// Package spool keeps accepted deliveries on the collector's disk while
// Kafka is unreachable and hands them to Kafka, in the order they arrived,
// once it answers again.
//
// The spool is a directory of segment files holding length-prefixed,
// checksummed records, plus a "head" file naming the first record not yet
// in Kafka. A record is fsynced before Append returns, so a delivery
// answered 202 survives kill -9. A record the drainer handed to Kafka just
// before a crash, with the head not yet moved past it, is published again
// after the restart: the same source and delivery id twice, which the
// aggregator stores and counts once (see docs/operations.md).
package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doraflow/doraflow/delivery"
)

// ErrFull is returned by Append when the spool holds its maximum bytes.
var ErrFull = errors.New("spool: full")

const (
	headerBytes = 8 // uint32 body length, uint32 CRC-32C of the body
	segSuffix   = ".seg"
	headFile    = "head"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// position names a byte in the spool: a segment and an offset in it.
type position struct {
	seg uint64
	off int64
}

type segment struct {
	seq  uint64
	size int64
}

// Log is the on-disk queue. It is safe for concurrent use; Append calls are
// serialised.
type Log struct {
	dir      string
	maxBytes int64
	segBytes int64

	mu      sync.Mutex
	segs    []segment // oldest first; the last is the one appended to
	tail    *os.File  // open on the last segment
	head    position
	records int   // records after head
	bytes   int64 // bytes after head, headers included
}

// Torn describes an incomplete record found at the end of the last
// segment on Open: one whose write was cut short (kill -9, power loss), so
// Append never returned for it and nobody was told it was accepted. Its
// bytes are kept in File for inspection.
type Torn struct {
	Segment string
	Offset  int64
	Bytes   int64
	File    string
}

// OpenLog opens or creates the spool in dir. maxBytes bounds the bytes not
// yet drained; segBytes is the size at which a new segment starts. A record
// cut short at the end of the last segment is moved aside and reported; a
// damaged record anywhere else is an error naming the file and offset, and
// nothing is changed.
func OpenLog(dir string, maxBytes, segBytes int64) (*Log, []Torn, error) {
	if maxBytes <= 0 || segBytes <= 0 {
		return nil, nil, fmt.Errorf("spool: max bytes (%d) and segment bytes (%d) must be positive", maxBytes, segBytes)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	l := &Log{dir: dir, maxBytes: maxBytes, segBytes: segBytes}
	seqs, err := l.listSegments()
	if err != nil {
		return nil, nil, err
	}
	head, err := l.readHead()
	if err != nil {
		return nil, nil, err
	}
	if len(seqs) == 0 {
		seqs = []uint64{max(head.seg, 1)}
		if head.seg == 0 {
			head = position{seg: 1}
		}
	}
	// Segments wholly before the head were drained; a crash may have left
	// them behind.
	for len(seqs) > 1 && seqs[0] < head.seg {
		if err := os.Remove(l.segPath(seqs[0])); err != nil {
			return nil, nil, fmt.Errorf("spool: remove drained segment: %w", err)
		}
		seqs = seqs[1:]
	}
	if head.seg < seqs[0] {
		head = position{seg: seqs[0]}
	}
	if head.seg > seqs[len(seqs)-1] {
		return nil, nil, fmt.Errorf("spool: %s names segment %d, but the last segment is %d", filepath.Join(dir, headFile), head.seg, seqs[len(seqs)-1])
	}
	l.head = head
	var torn []Torn
	for i, seq := range seqs {
		last := i == len(seqs)-1
		from := int64(0)
		if seq == head.seg {
			from = head.off
		}
		n, good, size, err := scan(l.segPath(seq), from)
		if err != nil && !(last && errors.Is(err, errTorn)) {
			return nil, nil, err
		}
		if err != nil { // a torn tail on the last segment
			t, err := l.setAside(seq, good, size)
			if err != nil {
				return nil, nil, err
			}
			torn = append(torn, t)
			size = good
		}
		l.segs = append(l.segs, segment{seq: seq, size: size})
		l.records += n
		l.bytes += size - from
	}
	f, err := os.OpenFile(l.segPath(seqs[len(seqs)-1]), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	l.tail = f
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, nil, err
	}
	return l, torn, nil
}

var errTorn = errors.New("torn record")

// scan reads the records of one segment from offset from. It returns the
// number of whole records, the offset after the last of them and the file
// size. A record that does not check out is errTorn when nothing follows
// it, and a plain error naming the place otherwise.
func scan(path string, from int64) (n int, good, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return 0, 0, 0, nil
		}
		return 0, 0, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("spool: %w", err)
	}
	size = st.Size()
	if from > size {
		return 0, 0, size, fmt.Errorf("spool: the head offset %d is beyond the end of %s (%d bytes)", from, path, size)
	}
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return 0, 0, size, fmt.Errorf("spool: %w", err)
	}
	r := bufio.NewReaderSize(f, 1<<20)
	good = from
	for good < size {
		body, err := readRecord(r, size-good)
		if err != nil {
			// Cut short by a crash: the record runs to or past the end, or
			// the file was extended with zeros that were never written.
			if good+int64(headerBytes)+int64(len(body)) >= size || errors.Is(err, io.ErrUnexpectedEOF) || zerosFrom(f, good, size) {
				return n, good, size, fmt.Errorf("spool: %s offset %d: %w (%v)", path, good, errTorn, err)
			}
			return n, good, size, fmt.Errorf("spool: %s: the record at offset %d is damaged (%v) and %d bytes follow it; "+
				"refusing to start rather than drop accepted deliveries: move the file aside and report it", path, good, err, size-good)
		}
		good += int64(headerBytes + len(body))
		n++
	}
	return n, good, size, nil
}

// zerosFrom reports whether f holds only zero bytes from off to size.
func zerosFrom(f *os.File, off, size int64) bool {
	buf := make([]byte, 64<<10)
	r := io.NewSectionReader(f, off, size-off)
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		if err != nil {
			return errors.Is(err, io.EOF)
		}
	}
}

// readRecord reads one record's body; remain bounds its length. On a
// checksum mismatch the body is returned with the error.
func readRecord(r io.Reader, remain int64) ([]byte, error) {
	var h [headerBytes]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	n := int64(binary.BigEndian.Uint32(h[:4]))
	if n == 0 {
		return nil, errors.New("empty record")
	}
	if n > remain-headerBytes {
		return nil, io.ErrUnexpectedEOF
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(h[4:]) {
		return body, errors.New("checksum mismatch")
	}
	return body, nil
}

// setAside copies the bytes after good to a file next to the segment and
// truncates the segment there.
func (l *Log) setAside(seq uint64, good, size int64) (Torn, error) {
	path := l.segPath(seq)
	t := Torn{Segment: path, Offset: good, Bytes: size - good,
		File: fmt.Sprintf("%s.torn-%d-%d", path, good, time.Now().UnixNano())}
	src, err := os.Open(path)
	if err != nil {
		return t, fmt.Errorf("spool: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(t.File, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return t, fmt.Errorf("spool: %w", err)
	}
	if _, err := io.Copy(dst, io.NewSectionReader(src, good, size-good)); err != nil {
		dst.Close()
		return t, fmt.Errorf("spool: keep the torn record: %w", err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return t, fmt.Errorf("spool: %w", err)
	}
	dst.Close()
	if err := os.Truncate(path, good); err != nil {
		return t, fmt.Errorf("spool: truncate %s at %d: %w", path, good, err)
	}
	return t, nil
}

// Append writes d and fsyncs it. It returns ErrFull when the record would
// take the spool past its bound.
func (l *Log) Append(d delivery.Delivery) error {
	body := encode(d)
	rec := make([]byte, headerBytes+len(body))
	binary.BigEndian.PutUint32(rec[:4], uint32(len(body)))
	binary.BigEndian.PutUint32(rec[4:8], crc32.Checksum(body, castagnoli))
	copy(rec[headerBytes:], body)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tail == nil {
		return errors.New("spool: closed")
	}
	if l.bytes+int64(len(rec)) > l.maxBytes {
		return ErrFull
	}
	last := &l.segs[len(l.segs)-1]
	if last.size > 0 && last.size+int64(len(rec)) > l.segBytes {
		if err := l.rotate(); err != nil {
			return err
		}
		last = &l.segs[len(l.segs)-1]
	}
	if _, err := l.tail.Write(rec); err != nil {
		// Leave no partial record for the next append to follow.
		_ = l.tail.Truncate(last.size)
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := l.tail.Sync(); err != nil {
		_ = l.tail.Truncate(last.size)
		return fmt.Errorf("spool: fsync: %w", err)
	}
	last.size += int64(len(rec))
	l.records++
	l.bytes += int64(len(rec))
	return nil
}

// rotate starts a new segment; l.mu is held.
func (l *Log) rotate() error {
	seq := l.segs[len(l.segs)-1].seq + 1
	f, err := os.OpenFile(l.segPath(seq), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.tail.Close()
	l.tail = f
	l.segs = append(l.segs, segment{seq: seq})
	return nil
}

// Batch is records read from the head, not yet removed.
type Batch struct {
	Deliveries []delivery.Delivery
	next       position
	bytes      int64
}

// Peek reads up to maxRecords records (and about maxBytes bytes, at least
// one record) from the head without removing them.
func (l *Log) Peek(maxRecords int, maxBytes int64) (Batch, error) {
	l.mu.Lock()
	pos := l.head
	segs := append([]segment(nil), l.segs...)
	l.mu.Unlock()

	var b Batch
	for _, s := range segs {
		if s.seq < pos.seg {
			continue
		}
		if s.seq > pos.seg {
			pos = position{seg: s.seq}
		}
		if pos.off >= s.size {
			continue
		}
		f, err := os.Open(l.segPath(s.seq))
		if err != nil {
			return b, fmt.Errorf("spool: %w", err)
		}
		r := io.NewSectionReader(f, pos.off, s.size-pos.off)
		br := bufio.NewReaderSize(r, 1<<20)
		for pos.off < s.size && len(b.Deliveries) < maxRecords && (len(b.Deliveries) == 0 || b.bytes < maxBytes) {
			body, err := readRecord(br, s.size-pos.off)
			if err != nil {
				f.Close()
				return b, fmt.Errorf("spool: %s offset %d: %w", l.segPath(s.seq), pos.off, err)
			}
			d, err := decode(body)
			if err != nil {
				f.Close()
				return b, fmt.Errorf("spool: %s offset %d: %w", l.segPath(s.seq), pos.off, err)
			}
			b.Deliveries = append(b.Deliveries, d)
			n := int64(headerBytes + len(body))
			pos.off += n
			b.bytes += n
		}
		f.Close()
		if len(b.Deliveries) >= maxRecords || b.bytes >= maxBytes {
			break
		}
	}
	b.next = pos
	return b, nil
}

// Remove moves the head past b, which must be the last Peek's result, and
// deletes drained segments.
func (l *Log) Remove(b Batch) error {
	if len(b.Deliveries) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	next := b.next
	last := l.segs[len(l.segs)-1]
	if next.seg == last.seq && next.off == last.size && last.size > 0 {
		// Drained: begin a fresh segment so the files do not grow forever.
		if err := l.rotate(); err != nil {
			return err
		}
		next = position{seg: last.seq + 1}
	}
	if err := l.writeHead(next); err != nil {
		return err
	}
	l.head = next
	l.records -= len(b.Deliveries)
	l.bytes -= b.bytes
	for len(l.segs) > 1 && l.segs[0].seq < next.seg {
		if err := os.Remove(l.segPath(l.segs[0].seq)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("spool: remove drained segment: %w", err)
		}
		l.segs = l.segs[1:]
	}
	return nil
}

// Depth is the number of records and bytes not yet drained.
func (l *Log) Depth() (records int, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records, l.bytes
}

// Close closes the file appended to.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tail == nil {
		return nil
	}
	err := l.tail.Close()
	l.tail = nil
	return err
}

func (l *Log) segPath(seq uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%020d%s", seq, segSuffix))
}

func (l *Log) listSegments() ([]uint64, error) {
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var seqs []uint64
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("spool: unexpected file %s in %s", name, l.dir)
		}
		seqs = append(seqs, n)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

func (l *Log) readHead() (position, error) {
	b, err := os.ReadFile(filepath.Join(l.dir, headFile))
	if os.IsNotExist(err) {
		return position{}, nil
	}
	if err != nil {
		return position{}, fmt.Errorf("spool: %w", err)
	}
	var p position
	if _, err := fmt.Sscanf(string(b), "%d %d\n", &p.seg, &p.off); err != nil {
		return position{}, fmt.Errorf("spool: %s holds %q, not \"<segment> <offset>\": %w", filepath.Join(l.dir, headFile), b, err)
	}
	return p, nil
}

// writeHead replaces the head file atomically and durably.
func (l *Log) writeHead(p position) error {
	path := filepath.Join(l.dir, headFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%d %d\n", p.seg, p.off); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return syncDir(l.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: fsync %s: %w", dir, err)
	}
	return nil
}

// encode lays a delivery out as length-prefixed fields.
func encode(d delivery.Delivery) []byte {
	b := make([]byte, 0, len(d.Payload)+len(d.Source)+len(d.Event)+len(d.ID)+len(d.Key)+6*binary.MaxVarintLen64)
	for _, s := range []string{d.Source, d.Event, d.ID, d.Key} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, d.ReceivedAt.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(d.Payload)))
	return append(b, d.Payload...)
}

func decode(b []byte) (delivery.Delivery, error) {
	var d delivery.Delivery
	field := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, errors.New("malformed record")
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, nil
	}
	var fs [4][]byte
	for i := range fs {
		v, err := field()
		if err != nil {
			return d, err
		}
		fs[i] = v
	}
	ns, k := binary.Varint(b)
	if k <= 0 {
		return d, errors.New("malformed record")
	}
	b = b[k:]
	payload, err := field()
	if err != nil {
		return d, err
	}
	d.Source, d.Event, d.ID, d.Key = string(fs[0]), string(fs[1]), string(fs[2]), string(fs[3])
	d.ReceivedAt = time.Unix(0, ns).UTC()
	d.Payload = payload
	return d, nil
}
