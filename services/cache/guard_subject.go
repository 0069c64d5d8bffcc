package cache

// subjectBit maps a conversion term to its bit in guardSig.subj when the
// term names what a question is about rather than a quantity: file formats
// (JSON … base64), programming languages and natural languages. Units,
// currencies and data types are left out: units come with numbers, which
// the number rule compares, and data-type words ("list", "string", "map",
// "date", "character") are everyday words that paraphrases drop freely.
func subjectBit(id uint8) (uint64, bool) {
	switch {
	case id >= 30 && id <= 46: // formats: bits 0–16
		return 1 << (id - 30), true
	case id >= 80 && id <= 98: // programming languages: bits 17–35
		return 1 << (id - 80 + 17), true
	case id >= 110 && id <= 128: // natural languages: bits 36–54
		return 1 << (id - 110 + 36), true
	}
	return 0, false
}

// subject groups: the bits of subjectBit for formats, programming
// languages and natural languages.
const (
	subjFormats     uint64 = 1<<17 - 1
	subjProgramming uint64 = (1<<19 - 1) << 17
	subjNatural     uint64 = (1<<19 - 1) << 36
)

// subjectsAgree reports whether two subject sets are compatible: within
// each group, equal, or empty on one side.
func subjectsAgree(a, b uint64) bool {
	for _, grp := range [...]uint64{subjFormats, subjProgramming, subjNatural} {
		x, y := a&grp, b&grp
		if x != 0 && y != 0 && x != y {
			return false
		}
	}
	return true
}

// languageC reports whether the one-letter word s[start:end] ("c" or "C",
// not followed by "++" or "#") names the C language. Only a capital C
// does, and not after a word that makes it a grade, vitamin, option or
// similar ("vitamin C", "plan C", "type C"), nor as the last of a run of
// letters ("A, B or C").
func languageC(s string, start, end int) bool {
	if next := nextWord(s, end); next != "" {
		var nb [24]byte
		ln, _ := lower(&nb, next)
		switch ln {
		case "language", "programming", "program", "programs", "programmer", "code", "coding", "compiler":
			return true // "c language", "C-programming"
		}
	}
	if s[start] != 'C' {
		return false
	}
	if start > 0 && s[start-1] == '.' {
		return false // "D.C"
	}
	if end < len(s) && (s[end] == '.' && end+1 < len(s) && s[end+1] != ' ' || s[end] == '-' || s[end] == '\'') {
		return false // "C.S. Lewis", "C-section", "C's"
	}
	prev, at := prevWord(s, start)
	if prev == "or" || prev == "and" {
		prev, _ = prevWord(s, at)
	}
	if len(prev) == 1 {
		return false // "A, B or C"
	}
	var lb [24]byte
	lp, _ := lower(&lb, prev)
	switch lp {
	case "vitamin", "vitamins", "grade", "grades", "plan", "type", "option", "options", "section", "part", "category",
		"level", "class", "tier", "drive", "usb", "point", "block", "size", "group", "cup", "team", "division", "row", "column":
		return false
	}
	return true
}

// nextWord returns the run of ASCII letters that starts, past spaces and
// one hyphen, at s[start:]; "" when there is none.
func nextWord(s string, start int) string {
	i := start
	if i < len(s) && s[i] == '-' {
		i++
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	j := i
	for j < len(s) && isASCIILetter(s[j]) {
		j++
	}
	return s[i:j]
}

// prevWord returns the run of ASCII letters that ends, past spaces and
// commas, just before s[end] ("" when there is none), and where it starts.
func prevWord(s string, end int) (string, int) {
	i := end
	for i > 0 && (s[i-1] == ' ' || s[i-1] == ',') {
		i--
	}
	j := i
	for j > 0 && isASCIILetter(s[j-1]) {
		j--
	}
	return s[j:i], j
}
