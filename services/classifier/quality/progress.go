package quality

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress draws a one-line progress bar ("\r"-updated) on a writer,
// typically stderr. A nil *Progress does nothing.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	start time.Time
	last  int // last percentage drawn
	drawn time.Time
	now   func() time.Time
}

// NewProgress starts a bar labelled label; w nil returns nil (no output).
func NewProgress(w io.Writer, label string) *Progress {
	if w == nil {
		return nil
	}
	return &Progress{w: w, label: label, start: time.Now(), last: -1, now: time.Now}
}

// Update draws done of total when the percentage changed.
func (p *Progress) Update(done, total int) {
	if p == nil || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pct := done * 100 / total
	now := p.now()
	if pct == p.last || (done < total && now.Sub(p.drawn) < 200*time.Millisecond) {
		return
	}
	p.last, p.drawn = pct, now
	const width = 30
	fill := done * width / total
	elapsed := now.Sub(p.start).Round(100 * time.Millisecond)
	fmt.Fprintf(p.w, "\r%-28s [%s%s] %3d%% %d/%d %s", p.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, done, total, elapsed)
	if done >= total {
		fmt.Fprintln(p.w)
	}
}
