package config

import (
	"slices"
	"strings"
)

// validateCurrency checks pricing.currency: empty (USD) or a 3-letter
// currency code such as USD or EUR.
func (v *validator) validateCurrency(p, cur string) {
	if cur == "" {
		return
	}
	ok := len(cur) == 3
	for i := 0; ok && i < len(cur); i++ {
		c := cur[i]
		ok = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
	}
	if !ok {
		v.errorf(p, "currency %q must be a 3-letter currency code (ISO 4217, e.g. USD, EUR)", cur)
	}
}

// PricingCurrency is the currency a pricing block's amounts are in: its
// currency upper-cased, USD when unset.
func PricingCurrency(p *Pricing) string {
	if p == nil || strings.TrimSpace(p.Currency) == "" {
		return "USD"
	}
	return strings.ToUpper(strings.TrimSpace(p.Currency))
}

// checkDecisionCurrencies warns when the priced models of a decision's
// modelRefs use different currencies: the router adds the costs of a
// request's calls per currency and never converts, so such a decision's
// cost is split across currencies.
func (v *validator) checkDecisionCurrencies(p string, d *Decision) {
	var curs []string
	for _, ref := range d.ModelRefs {
		m := v.cfg.Model(ref.Model)
		if m == nil || m.Pricing == nil {
			continue
		}
		if c := PricingCurrency(m.Pricing); !slices.Contains(curs, c) {
			curs = append(curs, c)
		}
	}
	if len(curs) > 1 {
		v.warnf(p, "decision %q routes to models priced in different currencies (%s); costs are reported per currency and never converted",
			d.Name, strings.Join(curs, ", "))
	}
}
