package jailbreak

// The harm taxonomy and the kinds of word list the lexicon (harm_lexicon.go)
// is made of.

// HarmCategory is one class of the harm taxonomy.
type HarmCategory uint8

// The taxonomy (JailbreakBench's ten behaviour categories).
const (
	HarmNone HarmCategory = iota
	HarmHarassment
	HarmMalware
	HarmPhysical
	HarmEconomic
	HarmFraud
	HarmDisinformation
	HarmSexual
	HarmPrivacy
	HarmExpertAdvice
	HarmGovernment
	numHarmCategories
)

// String names the category as the taxonomy does.
func (c HarmCategory) String() string {
	switch c {
	case HarmHarassment:
		return "harassment/discrimination"
	case HarmMalware:
		return "malware/hacking"
	case HarmPhysical:
		return "physical harm"
	case HarmEconomic:
		return "economic harm"
	case HarmFraud:
		return "fraud/deception"
	case HarmDisinformation:
		return "disinformation"
	case HarmSexual:
		return "sexual/adult content"
	case HarmPrivacy:
		return "privacy"
	case HarmExpertAdvice:
		return "expert advice"
	case HarmGovernment:
		return "government decision-making"
	}
	return "none"
}

// setKind says what a word list does.
type setKind uint8

const (
	kindHarm    setKind = iota // an action or object rules pair
	kindRequest                // request framing: write, give, explain
	kindHow                    // procedure framing: how to, step by step
	kindDefence                // benign context that cancels a nearby match
	kindExam                   // exam / case narrative cue
	kindIllicit                // secrecy or evasion: without consent, undetected
	kindBlock                  // benign idiom: its words match nothing
	// kindImperative verbs are request framing when they open a sentence
	// ("Develop a worm that …"), not elsewhere ("the company developed").
	kindImperative
	// kindFiction marks a prompt whose task describes rather than
	// instructs: fiction, role-play, news, legal cases, history, safety
	// training ("write a scene where the crew steals a painting"). Without
	// an operational cue it discounts every match except content rules
	// (harmContentRule: the written text would be the harm itself).
	kindFiction
	// kindAnalysis marks a task on a given text: summarise, translate,
	// answer questions on a passage, classify or moderate it. Without an
	// operational cue it discounts every match.
	kindAnalysis
	// kindOperational asks for the operational content itself, inside a
	// story or not: step by step, instructions, a recipe, exact
	// quantities, working code. One cancels both discounts above.
	kindOperational
	// kindUnbound: the prompt declares the model free of its rules; it
	// cancels the descriptive discounts like kindOperational.
	kindUnbound
)

// harmFrame names, in harmRules, the union of the request and how lists
// and of sentence-opening imperatives.
const harmFrame = "frame"

type harmSetDef struct {
	name  string
	kind  setKind
	words string
}
