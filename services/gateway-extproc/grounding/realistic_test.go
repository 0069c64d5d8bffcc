package grounding

import (
	"context"
	"slices"
	"testing"
)

// TestCheckRealisticAnswers runs answers shaped like chat models write
// them (markdown lists, bold labels, units, currencies) against JSON tool
// results and policy text.
func TestCheckRealisticAnswers(t *testing.T) {
	weather := `{"city":"Paris","temperature_c":18,"conditions":"light rain","wind_kmh":12,"humidity_pct":81}`
	orders := `{"orders":[{"id":"A-1042","status":"shipped","carrier":"UPS","eta":"2026-11-24","total_usd":129.99},{"id":"A-1043","status":"processing","total_usd":45.5}]}`
	policy := "Our refund policy allows returns within 30 days of purchase. Refunds are issued to the original payment method within 5-7 business days."
	for _, tc := range []struct {
		name, ctx, answer string
		missing           []string
	}{
		{"markdown list of tool fields", weather, "Here's the current weather in Paris:\n\n- **Temperature:** 18°C\n- **Conditions:** Light rain\n" +
			"- **Wind:** 12 km/h\n- **Humidity:** 81%\n\nYou might want to bring an umbrella!", nil},
		{"prose with units", weather, "The weather in Paris is currently 18 degrees Celsius with light rain. Winds are blowing at 12 km/h " +
			"and humidity is at 81%. Don't forget your umbrella if you're heading out!", nil},
		{"numbered list with ids, dates and prices", orders, "You have two orders:\n\n1. **Order A-1042** has shipped via UPS and should " +
			"arrive on November 24, 2026. Total: $129.99.\n2. **Order A-1043** is still processing. Total: $45.50.", nil},
		{"wrong carrier and date", orders, "Your order A-1042 shipped with FedEx and will arrive on November 26. The total was $129.99.",
			[]string{"November 26", "26", "FedEx"}},
		{"paraphrased policy", policy, "You can return items within 30 days of purchase. Once approved, the refund goes back to your " +
			"original payment method within 5–7 business days.", nil},
		{"invented policy term", policy, "You can return items within 60 days for a full refund, as stated in our Refund Policy.",
			[]string{"60"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Options{}).Check(context.Background(), nil, Input{Sources: []string{tc.ctx}, Answer: tc.answer})
			var missing []string
			for _, s := range v.Spans {
				missing = append(missing, s.Missing...)
			}
			if !slices.Equal(missing, tc.missing) || v.HallucinationDetected != (len(tc.missing) > 0) {
				t.Errorf("missing %q, want %q (spans %+v)", missing, tc.missing, v.Spans)
			}
		})
	}
}
