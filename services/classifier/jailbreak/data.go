package jailbreak

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// Example is one labelled prompt.
type Example struct {
	Text   string
	Attack bool
	// Method is the attack method of attack-only sets (jbb_attacks.jsonl's
	// "method"), empty otherwise.
	Method string
}

// ReadExamples reads a JSON Lines file of {"prompt": …, "label": …} rows.
// label "jailbreak" is an attack and "benign" is not; a row without a label
// is an attack (attack-only sets such as jbb_attacks.jsonl).
func ReadExamples(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read examples: %w", err)
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var row struct {
			Prompt *string `json:"prompt"`
			Label  *string `json:"label"`
			Method string  `json:"method"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("read examples %s:%d: %w", path, line, err)
		}
		if row.Prompt == nil {
			return nil, fmt.Errorf("read examples %s:%d: row has no prompt", path, line)
		}
		ex := Example{Text: *row.Prompt, Attack: true, Method: row.Method}
		if row.Label != nil {
			switch *row.Label {
			case "jailbreak":
			case "benign":
				ex.Attack = false
			default:
				return nil, fmt.Errorf("read examples %s:%d: unknown label %q (want jailbreak or benign)", path, line, *row.Label)
			}
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read examples %s: %w", path, err)
	}
	return out, nil
}

// Metrics are binary-classification figures at one threshold.
type Metrics struct {
	TP, FP, TN, FN int
	Precision      float64
	Recall         float64
	F1             float64
	FPR            float64 // false-positive rate on benign examples
	Accuracy       float64
}

// Evaluate scores predictions p (probabilities) against labels at threshold
// thr (positive when p ≥ thr).
func Evaluate(p []float64, attack []bool, thr float64) Metrics {
	var m Metrics
	for i, v := range p {
		pos := v >= thr
		switch {
		case pos && attack[i]:
			m.TP++
		case pos && !attack[i]:
			m.FP++
		case !pos && attack[i]:
			m.FN++
		default:
			m.TN++
		}
	}
	div := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	m.Precision = div(m.TP, m.TP+m.FP)
	m.Recall = div(m.TP, m.TP+m.FN)
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
	m.FPR = div(m.FP, m.FP+m.TN)
	m.Accuracy = div(m.TP+m.TN, len(p))
	return m
}

// String formats m on one line.
func (m Metrics) String() string {
	return fmt.Sprintf("P=%.4f R=%.4f F1=%.4f FPR=%.4f acc=%.4f (TP=%d FP=%d TN=%d FN=%d)",
		m.Precision, m.Recall, m.F1, m.FPR, m.Accuracy, m.TP, m.FP, m.TN, m.FN)
}
