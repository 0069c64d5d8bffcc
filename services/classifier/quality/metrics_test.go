package quality

import (
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestClassify(t *testing.T) {
	labels := []string{"a", "b", "c"}
	tests := []struct {
		name        string
		truth, pred []int
		acc, macro  float64
		f1          []float64
	}{
		{
			name: "perfect", truth: []int{0, 1, 2, 2}, pred: []int{0, 1, 2, 2},
			acc: 1, macro: 1, f1: []float64{1, 1, 1},
		},
		{
			// a: tp1 fp1 fn1 → P=.5 R=.5 F1=.5; b: tp1 fp0 fn1 → P=1 R=.5 F1=2/3;
			// c: tp1 fp1 fn0 → P=.5 R=1 F1=2/3
			name: "mixed", truth: []int{0, 0, 1, 1, 2}, pred: []int{0, 2, 1, 0, 2},
			acc: 0.6, macro: (0.5 + 2.0/3 + 2.0/3) / 3, f1: []float64{0.5, 2.0 / 3, 2.0 / 3},
		},
		{
			// class c never occurs nor is predicted: it is left out of macro-F1
			name: "absent class", truth: []int{0, 1}, pred: []int{0, 0},
			acc: 0.5, macro: (2.0/3 + 0) / 2, f1: []float64{2.0 / 3, 0, 0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Classify(labels, tc.truth, tc.pred)
			if err != nil {
				t.Fatal(err)
			}
			if !near(c.Accuracy, tc.acc) || !near(c.MacroF1, tc.macro) {
				t.Errorf("accuracy %v macro-F1 %v, want %v %v", c.Accuracy, c.MacroF1, tc.acc, tc.macro)
			}
			for i, want := range tc.f1 {
				if !near(c.Classes[i].F1, want) {
					t.Errorf("F1[%s] = %v, want %v", labels[i], c.Classes[i].F1, want)
				}
			}
			total := 0
			for _, row := range c.Confusion {
				for _, v := range row {
					total += v
				}
			}
			if total != len(tc.truth) {
				t.Errorf("confusion holds %d items, want %d", total, len(tc.truth))
			}
		})
	}
	if _, err := Classify(labels, []int{0}, []int{3}); err == nil {
		t.Error("out-of-range label accepted")
	}
	if _, err := Classify(labels, []int{0}, nil); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestBinaryAndPRCurve(t *testing.T) {
	scores := []float64{0.9, 0.8, 0.8, 0.6, 0.3, 0.1}
	pos := []bool{true, true, false, true, false, false}
	b := BinaryAt(scores, pos, 0.7)
	if b.TP != 2 || b.FP != 1 || b.FN != 1 || b.TN != 2 {
		t.Fatalf("counts %+v", b)
	}
	if !near(b.Precision, 2.0/3) || !near(b.Recall, 2.0/3) || !near(b.F1, 2.0/3) || !near(b.FPR, 1.0/3) {
		t.Errorf("figures %+v", b)
	}
	curve := PRCurve(scores, pos)
	// distinct thresholds 0.9, 0.8 (tie group), 0.6, 0.3, 0.1
	wantThr := []float64{0.9, 0.8, 0.6, 0.3, 0.1}
	wantP := []float64{1, 2.0 / 3, 0.75, 0.6, 0.5}
	wantR := []float64{1.0 / 3, 2.0 / 3, 1, 1, 1}
	if len(curve) != len(wantThr) {
		t.Fatalf("curve has %d points, want %d", len(curve), len(wantThr))
	}
	for i, c := range curve {
		if c.Threshold != wantThr[i] || !near(c.Precision, wantP[i]) || !near(c.Recall, wantR[i]) {
			t.Errorf("point %d = thr %v P %v R %v, want %v %v %v", i, c.Threshold, c.Precision, c.Recall, wantThr[i], wantP[i], wantR[i])
		}
		if direct := BinaryAt(scores, pos, c.Threshold); direct.TP != c.TP || direct.FP != c.FP {
			t.Errorf("curve point %d disagrees with BinaryAt", i)
		}
	}
	tests := []struct {
		name   string
		target float64
		ok     bool
		thr    float64
	}{
		{"high target: only the top point", 0.95, true, 0.9},
		{"0.75 reaches recall 1", 0.75, true, 0.6},
		{"0.7 still 0.6 (highest recall)", 0.7, true, 0.6},
		{"0.5: recall ties go to the higher threshold", 0.5, true, 0.6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := ThresholdForPrecision(curve, tc.target)
			if ok != tc.ok || b.Threshold != tc.thr {
				t.Errorf("got %v %v, want %v %v", b.Threshold, ok, tc.thr, tc.ok)
			}
		})
	}
	if _, ok := ThresholdForPrecision(PRCurve([]float64{0.9, 0.1}, []bool{false, true}), 0.99); ok {
		t.Error("unreachable precision reported as reached")
	}
	if best := BestF1(curve); !near(best.F1, 2*0.75/1.75) || best.Threshold != 0.6 {
		t.Errorf("best F1 %+v", best)
	}
	// AP = 1/3·1 + 1/3·2/3 + 1/3·0.75
	if ap := AveragePrecision(curve); !near(ap, (1+2.0/3+0.75)/3) {
		t.Errorf("AP %v", ap)
	}
	if none := BinaryAt(scores, pos, 2); none.Precision != 1 || none.Recall != 0 || none.F1 != 0 {
		t.Errorf("no positives: %+v", none)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}}
	for _, tc := range tests {
		if got := Percentile(d, tc.q); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.q, got, tc.want)
		}
	}
	if d[0] != 100*time.Millisecond {
		t.Error("Percentile reordered its input")
	}
	if Percentile(nil, 0.5) != 0 {
		t.Error("empty input")
	}
}

func TestCostQuality(t *testing.T) {
	// item: weak, strong
	weak := []bool{true, false, false, true, false}
	strong := []bool{true, true, true, false, false}
	scores := []float64{0.1, 0.9, 0.8, 0.2, 0.5}
	c, err := CostQuality("p", scores, weak, strong)
	if err != nil {
		t.Fatal(err)
	}
	// order by score: 1 (gain), 2 (gain), 4 (none), 3 (loss), 0 (same)
	wantF := []float64{0, 0.2, 0.4, 0.6, 0.8, 1}
	wantA := []float64{0.4, 0.6, 0.8, 0.8, 0.6, 0.6}
	if len(c.Points) != len(wantF) {
		t.Fatalf("%d points", len(c.Points))
	}
	for i, p := range c.Points {
		if !near(p.StrongFraction, wantF[i]) || !near(p.Accuracy, wantA[i]) {
			t.Errorf("point %d = %+v, want %v %v", i, p, wantF[i], wantA[i])
		}
	}
	if a := c.AccuracyAt(0.5); !near(a, 0.8) {
		t.Errorf("acc@0.5 = %v", a)
	}
	if a := c.AccuracyAt(0.1); !near(a, 0.5) {
		t.Errorf("interpolated acc@0.1 = %v", a)
	}
	if thr := c.ThresholdAt(0.4); thr != 0.8 {
		t.Errorf("threshold at 40%% = %v", thr)
	}
	weakAcc, strongAcc := 0.4, 0.6
	if g := GapRecovered(0.5, weakAcc, strongAcc); !near(g, 0.5) {
		t.Errorf("gap recovered %v", g)
	}
	if f, ok := c.MinFractionFor(1, weakAcc, strongAcc); !ok || !near(f, 0.2) {
		t.Errorf("fraction for the full gap %v %v", f, ok)
	}
	if _, ok := c.MinFractionFor(3, weakAcc, strongAcc); ok {
		t.Error("unreachable gap reported as reached")
	}
	r := RandomCurve(weakAcc, strongAcc)
	if a := r.APGR(weakAcc, strongAcc); !near(a, 0.5) {
		t.Errorf("random APGR %v, want 0.5", a)
	}
	if a := r.AccuracyAt(0.5); !near(a, 0.5) {
		t.Errorf("random acc@0.5 %v", a)
	}
	o := OracleCurve(weak, strong)
	if !near(o.Points[1].StrongFraction, 0.4) || !near(o.Points[1].Accuracy, 0.8) {
		t.Errorf("oracle %+v", o.Points)
	}
	// the oracle dominates the policy everywhere
	for f := 0.0; f <= 1; f += 0.05 {
		if o.AccuracyAt(f) < c.AccuracyAt(f)-1e-9 {
			t.Errorf("oracle below policy at %v", f)
		}
	}
	// ties move together: all-equal scores give the random line
	tied, _ := CostQuality("tie", []float64{1, 1, 1, 1, 1}, weak, strong)
	if len(tied.Points) != 2 || !near(tied.AccuracyAt(0.5), 0.5) {
		t.Errorf("tied curve %+v", tied.Points)
	}
	if _, err := CostQuality("bad", scores, weak[:2], strong); err == nil {
		t.Error("length mismatch accepted")
	}
}
