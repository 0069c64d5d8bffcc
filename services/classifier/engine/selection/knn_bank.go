package selection

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// KNNFormat is the format name in a pretrained knn file's header.
const KNNFormat = "semrouter-knn/1"

// knnMagic opens every pretrained knn file.
var knnMagic = [8]byte{'S', 'R', 'K', 'N', 'N', 0, 0, 1}

// ErrBadKNNFile is wrapped by every error ReadKNNBank returns for a file
// that is not a valid pretrained knn file.
var ErrBadKNNFile = errors.New("bad pretrained knn file")

// maxKNNHeader bounds the JSON header so a corrupt length cannot make the
// reader allocate gigabytes.
const maxKNNHeader = 1 << 20

// KNNMeta is the JSON header of a pretrained knn file.
type KNNMeta struct {
	Format string `json:"format"`
	// EmbeddingModel is the embedder the stored vectors come from; the
	// router's query embeddings must come from the same model.
	EmbeddingModel string `json:"embedding_model"`
	Dims           int    `json:"dims"`
	N              int    `json:"n"`
	// K is the default neighbour count and Tau the kernel width: each of
	// the K nearest neighbours weighs exp((cos − cos₁)/Tau).
	K   int     `json:"k"`
	Tau float64 `json:"tau"`
	// Gap is the default quality gap: a candidate is good enough when its
	// estimate is at most Gap below the best candidate's.
	Gap float64 `json:"default_gap"`
	// Models are the outcome columns, cheapest first as trained.
	Models []KNNModel `json:"models"`
	// Data, GapRule and DevStrongShare describe how the file was made.
	Data           string  `json:"data,omitempty"`
	GapRule        string  `json:"gap_rule,omitempty"`
	DevStrongShare float64 `json:"dev_strong_share,omitempty"`
}

// KNNModel is one outcome column: the config model name it stands for and
// the dataset model whose outcomes it holds.
type KNNModel struct {
	Name          string  `json:"name"`
	Source        string  `json:"source,omitempty"`
	TrainAccuracy float64 `json:"train_accuracy"`
}

// KNNBank is pretrained knn data: unit embeddings of N labelled questions,
// int8-quantised with one scale per row, and one bit per question and
// model saying whether the model answered it correctly. It is immutable
// once built and safe for concurrent use.
//
// In memory the int8 rows are interleaved in pairs: word p·Dims+i holds
// row 2p+1's value at dimension i times 2³² plus row 2p's, so one 64-bit
// multiply-add by the query's value advances two dot products (a sum of
// up to 512·127² fits either 32-bit lane, and the low lane's sign is
// undone exactly when the lanes are split). This takes four bytes per
// value (8,423 × 512 use-lite rows: 17 MB) and halves the query time.
type KNNBank struct {
	Meta  KNNMeta
	pairs []int64   // ⌈N/2⌉ × Dims
	scale []float32 // per row: the cosine is scale[j] · qscale · Σ q8·v8
	bits  [][]byte  // per model, ⌈N/8⌉ bytes; bit j of row j>>3, j&7
}

// newRows allocates the pair storage for meta.
func (b *KNNBank) newRows() {
	b.pairs = make([]int64, (b.Meta.N+1)/2*b.Meta.Dims)
	b.scale = make([]float32, b.Meta.N)
}

// setRow stores row j.
func (b *KNNBank) setRow(j int, v []int8) {
	d := b.Meta.Dims
	p := b.pairs[j/2*d : (j/2+1)*d]
	for i, x := range v {
		if j%2 == 0 {
			p[i] += int64(x)
		} else {
			p[i] += int64(x) << 32
		}
	}
}

// rowInt8 appends row j's int8 values to dst.
func (b *KNNBank) rowInt8(dst []int8, j int) []int8 {
	d := b.Meta.Dims
	for _, w := range b.pairs[j/2*d : (j/2+1)*d] {
		lo := int32(w)
		if j%2 == 0 {
			dst = append(dst, int8(lo))
		} else {
			dst = append(dst, int8((w-int64(lo))>>32))
		}
	}
	return dst
}

// NewKNNBank quantises vecs (each normalised to unit length first) and
// packs outcomes (outcomes[m][j]: model meta.Models[m] answered question j).
// meta.N and meta.Dims are set from the data.
func NewKNNBank(meta KNNMeta, vecs [][]float32, outcomes [][]bool) (*KNNBank, error) {
	if len(vecs) == 0 {
		return nil, errors.New("build knn bank: no vectors")
	}
	meta.Format, meta.N, meta.Dims = KNNFormat, len(vecs), len(vecs[0])
	if len(outcomes) != len(meta.Models) {
		return nil, fmt.Errorf("build knn bank: %d outcome columns for %d models", len(outcomes), len(meta.Models))
	}
	b := &KNNBank{Meta: meta}
	b.newRows()
	row := make([]int8, meta.Dims)
	for j, v := range vecs {
		if len(v) != meta.Dims {
			return nil, fmt.Errorf("build knn bank: vector %d has %d dimensions, want %d", j, len(v), meta.Dims)
		}
		s, ok := quantize(v, row)
		if !ok {
			return nil, fmt.Errorf("build knn bank: vector %d is zero or not finite", j)
		}
		b.scale[j] = s
		b.setRow(j, row)
	}
	for m, col := range outcomes {
		if len(col) != meta.N {
			return nil, fmt.Errorf("build knn bank: model %q has %d outcomes for %d vectors", meta.Models[m].Name, len(col), meta.N)
		}
		bits := make([]byte, (meta.N+7)/8)
		for j, ok := range col {
			if ok {
				bits[j>>3] |= 1 << (j & 7)
			}
		}
		b.bits = append(b.bits, bits)
	}
	if err := meta.check(); err != nil {
		return nil, fmt.Errorf("build knn bank: %w", err)
	}
	return b, nil
}

// quantize writes v/|v| as int8 into out and returns the scale s with
// v/|v| ≈ s·out; ok is false for a zero or non-finite vector.
func quantize(v []float32, out []int8) (scale float32, ok bool) {
	var norm, maxAbs float64
	for _, x := range v {
		f := float64(x)
		norm += f * f
		maxAbs = math.Max(maxAbs, math.Abs(f))
	}
	norm = math.Sqrt(norm)
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return 0, false
	}
	s := maxAbs / norm / 127
	for i, x := range v {
		out[i] = int8(math.Round(float64(x) / norm / s))
	}
	return float32(s), true
}

func (m *KNNMeta) check() error {
	var errs []error
	if m.Format != KNNFormat {
		errs = append(errs, fmt.Errorf("format %q, want %q", m.Format, KNNFormat))
	}
	if m.Dims <= 0 || m.N <= 0 {
		errs = append(errs, fmt.Errorf("%d vectors of %d dimensions", m.N, m.Dims))
	}
	if m.K <= 0 {
		errs = append(errs, fmt.Errorf("k %d must be positive", m.K))
	}
	if !(m.Tau > 0) || math.IsInf(m.Tau, 0) {
		errs = append(errs, fmt.Errorf("tau %v must be positive", m.Tau))
	}
	if math.IsNaN(m.Gap) || math.IsInf(m.Gap, 0) {
		errs = append(errs, fmt.Errorf("default_gap %v is not a number", m.Gap))
	}
	if len(m.Models) == 0 {
		errs = append(errs, errors.New("no model columns"))
	}
	seen := map[string]bool{}
	for _, mod := range m.Models {
		if mod.Name == "" {
			errs = append(errs, errors.New("a model column has no name"))
		} else if seen[mod.Name] {
			errs = append(errs, fmt.Errorf("model column %q twice", mod.Name))
		}
		seen[mod.Name] = true
	}
	return errors.Join(errs...)
}

// Column returns the outcome column for a config model: the column named
// model, else the column whose dataset source is model; -1 when none.
func (b *KNNBank) Column(model string) int {
	for i, m := range b.Meta.Models {
		if m.Name == model {
			return i
		}
	}
	for i, m := range b.Meta.Models {
		if m.Source != "" && m.Source == model {
			return i
		}
	}
	return -1
}

// Size is the encoded size of the bank in bytes.
func (b *KNNBank) Size() int {
	hdr, _ := json.Marshal(b.Meta)
	return len(knnMagic) + 4 + len(hdr) + 4*b.Meta.N + b.Meta.N*b.Meta.Dims + len(b.bits)*((b.Meta.N+7)/8) + 4
}

// WriteTo writes the bank in the pretrained knn file format:
//
//	8 bytes   magic "SRKNN\x00\x00\x01"
//	4 bytes   little-endian length H of the header
//	H bytes   JSON header (KNNMeta)
//	4·N bytes little-endian float32 row scales
//	N·D bytes int8 vectors, row after row
//	M·⌈N/8⌉  outcome bits, one block per model in header order
//	4 bytes   little-endian CRC-32 (IEEE) of everything before it
//
// The output is a deterministic function of the bank.
func (b *KNNBank) WriteTo(w io.Writer) (int64, error) {
	hdr, err := json.Marshal(b.Meta)
	if err != nil {
		return 0, fmt.Errorf("write knn bank: %w", err)
	}
	crc := crc32.NewIEEE()
	bw := bufio.NewWriter(io.MultiWriter(w, crc))
	var n int64
	put := func(p []byte) {
		if err != nil {
			return
		}
		var k int
		k, err = bw.Write(p)
		n += int64(k)
	}
	put(knnMagic[:])
	put(binary.LittleEndian.AppendUint32(nil, uint32(len(hdr))))
	put(hdr)
	buf := make([]byte, 0, 4*len(b.scale))
	for _, s := range b.scale {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(s))
	}
	put(buf)
	row := make([]int8, 0, b.Meta.Dims)
	vb := make([]byte, b.Meta.Dims)
	for j := range b.Meta.N {
		row = b.rowInt8(row[:0], j)
		for i, x := range row {
			vb[i] = byte(x)
		}
		put(vb)
	}
	for _, bits := range b.bits {
		put(bits)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return n, fmt.Errorf("write knn bank: %w", err)
	}
	k, err := w.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
	n += int64(k)
	if err != nil {
		return n, fmt.Errorf("write knn bank: %w", err)
	}
	return n, nil
}

// ReadKNNBank reads a file written by WriteTo. Every structural problem
// (magic, header, sizes, checksum, trailing bytes) is an error wrapping
// ErrBadKNNFile.
func ReadKNNBank(r io.Reader) (*KNNBank, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read pretrained knn file: %w", err)
	}
	return ParseKNNBank(data)
}

// ParseKNNBank decodes a pretrained knn file held in memory.
func ParseKNNBank(data []byte) (*KNNBank, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadKNNFile, fmt.Sprintf(format, args...))
	}
	if len(data) < len(knnMagic)+8 || !bytes.Equal(data[:len(knnMagic)], knnMagic[:]) {
		return nil, bad("not a semrouter knn file (wrong magic)")
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if got := crc32.ChecksumIEEE(body); got != sum {
		return nil, bad("checksum %08x, file says %08x (truncated or corrupted)", got, sum)
	}
	p := body[len(knnMagic):]
	h := binary.LittleEndian.Uint32(p)
	p = p[4:]
	if h > maxKNNHeader || int(h) > len(p) {
		return nil, bad("header length %d exceeds the file", h)
	}
	var meta KNNMeta
	dec := json.NewDecoder(bytes.NewReader(p[:h]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&meta); err != nil {
		return nil, bad("header: %v", err)
	}
	if err := meta.check(); err != nil {
		return nil, bad("header: %v", err)
	}
	p = p[h:]
	n, d, m := meta.N, meta.Dims, len(meta.Models)
	want := 4*n + n*d + m*((n+7)/8)
	if n > len(p) || d > len(p) || len(p) != want {
		return nil, bad("body has %d bytes, header implies %d", len(p), want)
	}
	b := &KNNBank{Meta: meta}
	b.newRows()
	for j := range b.scale {
		s := math.Float32frombits(binary.LittleEndian.Uint32(p[4*j:]))
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, bad("row %d has scale %v", j, s)
		}
		b.scale[j] = s
	}
	p = p[4*n:]
	row := make([]int8, d)
	for j := range n {
		for i, x := range p[j*d : (j+1)*d] {
			row[i] = int8(x)
		}
		b.setRow(j, row)
	}
	p = p[n*d:]
	nb := (n + 7) / 8
	for range m {
		b.bits = append(b.bits, p[:nb:nb])
		p = p[nb:]
	}
	return b, nil
}

// Outcome reports whether model column m answered stored question j.
func (b *KNNBank) Outcome(m, j int) bool { return b.bits[m][j>>3]>>(j&7)&1 == 1 }

// Row returns stored question j's unit embedding as decoded from int8.
func (b *KNNBank) Row(j int) []float32 {
	out := make([]float32, b.Meta.Dims)
	for i, x := range b.rowInt8(make([]int8, 0, b.Meta.Dims), j) {
		out[i] = float32(x) * b.scale[j]
	}
	return out
}
