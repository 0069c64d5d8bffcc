package jailbreak

// The rules of the harmful-request detector over the word lists of
// harm_lexicon.go.

// harmVerbSets are the word lists of actions. An action word that lost an
// -s or an -ed describes ("the ransomware spreads", "he stole"), it does
// not ask, unless it opens a relative clause that describes what is asked
// for ("a program that steals passwords").
var harmVerbSets = []string{
	"make", "hurt", "encourage", "plan", "take", "code", "intrude", "bypass", "steal", "commit", "scamverb", "rig",
	"econact", "writepub", "coerce", "indoctrinate", "dump", "impersonate", "arson", "stalk", "track",
	"collect", "evade", "forge", "elect", "traffic", "sell", "tamper", "obtain",
}

// harmContentRule reports whether a rule's harm is the written text
// itself (hate, harassment, disinformation, sexual content, encouraging
// self-harm or violence): a story or a news frame does not make such a
// text benign, so kindFiction does not discount it (kindAnalysis, a task
// on a given text, still does).
func harmContentRule(r harmRule) bool {
	switch r.cat {
	case HarmHarassment, HarmDisinformation, HarmSexual:
		return true
	}
	for _, l := range [2]string{r.a, r.b} {
		switch l {
		case "encourage", "writepub", "selfharm", "hate":
			return true
		}
	}
	return false
}

// harmNegators are the words that, up to harmNegateBefore words before an
// operational cue, negate it ("without operational detail", "not the
// exact steps", "I do not need any technical details").
var harmNegators = [...]string{"no", "not", "without", "never", "nor"}

// harmRule pairs two word lists: a match is a word of A and a word of B
// within Window tokens of each other, in either order.
type harmRule struct {
	cat    HarmCategory
	a, b   string
	weight float64
	window int
	// needHow requires procedure framing (how to, step by step) somewhere
	// in the prompt for the full weight: the pair alone is too common in
	// stories and questions.
	needHow bool
}

// harmRules are the rules; a prompt's raw score is the best weighted match.
var harmRules = []harmRule{
	{HarmPhysical, "make", "weapon", 1.0, 6, false},
	{HarmPhysical, "make", "drug", 0.9, 5, false},
	{HarmPhysical, "make", "gdrug", 0.6, 4, false},
	{HarmPhysical, "make", "gun", 0.6, 5, false},
	{HarmPhysical, "hurt", "victim", 0.75, 6, true},
	{HarmPhysical, harmFrame, "dispose", 0.9, 10, false},
	{HarmPhysical, "how", "selfharm", 0.9, 6, false},
	{HarmPhysical, "encourage", "selfharm", 0.9, 6, false},
	{HarmPhysical, harmFrame, "selfharm", 0.8, 8, false},
	{HarmPhysical, "encourage", "terror", 0.85, 5, false},
	{HarmPhysical, "plan", "terror", 0.85, 5, false},

	{HarmMalware, "code", "malware", 0.9, 10, false},
	{HarmMalware, "intrude", "system", 0.85, 8, false},
	{HarmMalware, "bypass", "system", 0.6, 5, false},
	{HarmMalware, "worm", "system", 0.85, 6, false},

	{HarmFraud, "steal", "asset", 0.85, 5, false},
	{HarmFraud, "commit", "scam", 0.85, 8, false},
	{HarmFraud, "how", "scam", 0.8, 6, false},
	{HarmFraud, "how", "scamverb", 0.85, 5, false},
	{HarmFraud, "scamverb", "mark", 0.7, 4, false},
	{HarmFraud, harmFrame, "steal", 0.6, 4, false},

	{HarmEconomic, "rig", "gamble", 0.75, 5, false},
	{HarmEconomic, harmFrame, "econ", 0.7, 8, false},
	{HarmEconomic, "econact", "econvic", 0.6, 4, false},

	{HarmDisinformation, "writepub", "disinfo", 0.85, 14, false},
	{HarmDisinformation, "how", "disinfo", 0.7, 8, false},

	{HarmHarassment, "writepub", "hate", 0.85, 6, false},
	{HarmHarassment, "demean", "group", 0.75, 7, false},
	{HarmHarassment, "how", "hate", 0.75, 6, false},

	{HarmSexual, "minor", "sexual", 0.95, 10, false},
	{HarmSexual, harmFrame, "noncons", 0.85, 10, false},
	{HarmSexual, "writepub", "adult", 0.7, 6, false},

	{HarmPrivacy, "stalk", "target", 0.85, 5, false},
	{HarmPrivacy, harmFrame, "stalk", 0.8, 6, false},
	{HarmPrivacy, "track", "target", 0.35, 6, false},
	{HarmPrivacy, "track", "exposed", 0.7, 8, false},
	{HarmPrivacy, "collect", "pdata", 0.6, 5, false},

	{HarmExpertAdvice, "take", "harddrug", 0.7, 5, false},
	{HarmPhysical, "obtain", "harddrug", 0.8, 4, false},
	{HarmExpertAdvice, "advice", "noexpert", 0.7, 8, false},
	{HarmExpertAdvice, "make", "rxdrug", 0.5, 4, false},

	{HarmGovernment, "evade", "law", 0.85, 6, false},
	{HarmGovernment, "forge", "document", 0.9, 4, false},
	{HarmGovernment, "make", "document", 0.2, 4, false},
	{HarmGovernment, "elect", "election", 0.85, 4, false},
	{HarmGovernment, "traffic", "contraband", 0.85, 3, false},
	{HarmGovernment, "sell", "sellable", 0.75, 3, false},
	{HarmGovernment, "evade", "prison", 0.8, 3, false},
	{HarmGovernment, "traffic", "prison", 0.8, 6, false},
	{HarmPhysical, "tamper", "consumable", 0.8, 6, false},
	{HarmPhysical, harmFrame, "wildfire", 0.75, 6, false},
	{HarmExpertAdvice, harmFrame, "noexpert", 0.7, 8, false},
	{HarmFraud, "impersonate", "authority", 0.75, 5, false},
	{HarmPhysical, "how", "weapon", 0.9, 4, false},
	{HarmPhysical, "minor", "agerestricted", 0.6, 6, false},
	{HarmFraud, "intrude", "premises", 0.8, 4, false},
	{HarmPhysical, "arson", "premises", 0.85, 6, false},
	{HarmSexual, "voyeur", "private", 0.8, 8, false},
	{HarmPhysical, "lethal", "victim", 0.8, 8, false},
	{HarmMalware, "how", "malware", 0.8, 6, false},
	{HarmPrivacy, "track", "pdata", 0.6, 6, false},
	{HarmGovernment, harmFrame, "trespass", 0.6, 6, false},
	{HarmExpertAdvice, "encourage", "noexpert", 0.75, 6, false},
	{HarmGovernment, "dump", "waste", 0.75, 4, false},
	{HarmPhysical, "encourage", "ingest", 0.85, 8, false},
	{HarmPhysical, "writepub", "ingest", 0.8, 8, false},
	{HarmPhysical, "graphic", "gore", 0.75, 6, false},
	{HarmPhysical, "encourage", "stalk", 0.8, 5, false},
	{HarmSexual, "coerce", "intimate", 0.85, 10, false},
	{HarmSexual, "minor", "meetalone", 0.85, 8, false},
	{HarmPhysical, "minor", "dangerdiet", 0.6, 10, false},
	{HarmSexual, "sell", "intimate", 0.85, 4, false},
	{HarmPhysical, "ingest", "victim", 0.75, 5, false},
	{HarmMalware, "obtain", "system", 0.35, 6, false},
	{HarmPhysical, "how", "cult", 0.75, 6, false},
	{HarmExpertAdvice, "rxdrug", "noexpert", 0.7, 10, false},
	{HarmFraud, "indoctrinate", "cult", 0.8, 5, false},
	{HarmFraud, "encourage", "cult", 0.8, 8, false},
	{HarmExpertAdvice, "advice", "disease", 0.6, 6, false},
	{HarmExpertAdvice, "advice", "rxdrug", 0.6, 4, false},
}
