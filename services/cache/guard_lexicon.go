package cache

// lexKind is what a word means to the guard.
type lexKind uint8

const (
	lexNone     lexKind = iota
	lexNegation         // not, never, without, …
	lexSide             // one side of an opposite pair
	lexTerm             // a unit, format or language a conversion names
	lexTo               // "to", "into": a conversion's direction
	lexFrom             // "from": the reverse direction ("yaml from json")
)

// lex is a word's meaning: for lexSide the pair (id) and side (0 or 1),
// for lexTerm the term id.
type lex struct {
	kind lexKind
	id   uint8
	side uint8
}

// lookup returns the meaning of a lower-case word.
func lookup(w string) lex {
	if len(w) < 1 || len(w) > 14 {
		return lex{}
	}
	switch w {
	case "not", "no", "never", "without", "nor", "cannot", "none", "nothing", "nobody", "neither", "nowhere":
		return lex{kind: lexNegation}
	case "to", "into":
		return lex{kind: lexTo}
	case "from":
		return lex{kind: lexFrom}
	}
	if id, side, ok := opposite(w); ok {
		return lex{kind: lexSide, id: id, side: side}
	}
	if id, ok := convTerm(w); ok {
		return lex{kind: lexTerm, id: id}
	}
	return lex{}
}

// lookupStem finds an inflected form of an opposite-pair word: "encrypted",
// "decrypting", "compression", "serialization", "increases".
func lookupStem(w string) lex {
	n := len(w)
	if n < 5 {
		return lex{}
	}
	try := func(stem string) (lex, bool) {
		if id, side, ok := opposite(stem); ok {
			return lex{kind: lexSide, id: id, side: side}, true
		}
		return lex{}, false
	}
	var e [24]byte // the stem with an "e" added ("encoding" → "encode")
	withE := func(stem string) string {
		copy(e[:], stem)
		e[len(stem)] = 'e'
		return string(e[:len(stem)+1])
	}
	switch {
	case hasSuffix(w, "ations"):
		if l, ok := try(withE(w[:n-6])); ok {
			return l
		}
	case hasSuffix(w, "ation"):
		if l, ok := try(withE(w[:n-5])); ok {
			return l
		}
	case hasSuffix(w, "ions"):
		if l, ok := try(w[:n-4]); ok {
			return l
		}
	case hasSuffix(w, "ion"):
		if l, ok := try(w[:n-3]); ok {
			return l
		}
	case hasSuffix(w, "ing"):
		if l, ok := try(w[:n-3]); ok {
			return l
		}
		if l, ok := try(withE(w[:n-3])); ok {
			return l
		}
	case hasSuffix(w, "ed"):
		if l, ok := try(w[:n-2]); ok {
			return l
		}
		if l, ok := try(w[:n-1]); ok {
			return l
		}
	case hasSuffix(w, "es"):
		if l, ok := try(w[:n-2]); ok {
			return l
		}
		if l, ok := try(w[:n-1]); ok {
			return l
		}
	case hasSuffix(w, "s"):
		if l, ok := try(w[:n-1]); ok {
			return l
		}
	}
	return lex{}
}

func hasSuffix(w, suffix string) bool {
	return len(w) >= len(suffix) && w[len(w)-len(suffix):] == suffix
}

// opposite returns the opposite pair (id < 64) and side of a word whose
// use on one side of a question and the other side in another flips the
// answer. Inflections are found by lookupStem; irregular ones are listed.
func opposite(w string) (uint8, uint8, bool) {
	switch w {
	// Order and amount.
	case "ascending", "ascend", "asc", "increase", "increasing", "increment", "grow":
		return 0, 0, true
	case "descending", "descend", "desc", "decrease", "decreasing", "decrement", "reduce", "shrink":
		return 0, 1, true
	case "maximum", "max", "maximal", "maximize", "maximise", "largest", "biggest", "greatest", "highest", "longest", "most":
		return 1, 0, true
	case "minimum", "min", "minimal", "minimize", "minimise", "smallest", "lowest", "shortest", "least", "fewest":
		return 1, 1, true
	case "more", "bigger", "larger", "greater", "higher", "longer":
		return 2, 0, true
	case "less", "fewer", "smaller", "lower", "shorter":
		return 2, 1, true
	case "before", "earlier", "previous", "prior", "past":
		return 3, 0, true
	case "after", "later", "next", "future":
		return 3, 1, true
	case "first", "oldest":
		return 4, 0, true
	case "last", "latest", "newest":
		return 4, 1, true
	case "above", "top", "upper", "uppercase":
		return 5, 0, true
	case "below", "bottom", "lowercase":
		return 5, 1, true
	case "inside", "inner", "internal":
		return 6, 0, true
	case "outside", "outer", "external":
		return 6, 1, true
	// Transformations and their inverses.
	case "encrypt", "encipher":
		return 7, 0, true
	case "decrypt", "decipher":
		return 7, 1, true
	case "encode":
		return 8, 0, true
	case "decode":
		return 8, 1, true
	case "compress", "zip", "deflate":
		return 9, 0, true
	case "decompress", "unzip", "inflate", "uncompress", "extract":
		return 9, 1, true
	case "serialize", "serialise", "marshal", "stringify":
		return 10, 0, true
	case "deserialize", "deserialise", "unmarshal", "parse":
		return 10, 1, true
	case "import":
		return 11, 0, true
	case "export":
		return 11, 1, true
	case "upload", "push", "send":
		return 12, 0, true
	case "download", "pull", "receive":
		return 12, 1, true
	case "add", "insert", "append", "subtract":
		return 13, 0, true
	case "remove", "delete", "erase":
		return 13, 1, true
	case "enable", "activate":
		return 14, 0, true
	case "disable", "deactivate":
		return 14, 1, true
	case "install":
		return 15, 0, true
	case "uninstall":
		return 15, 1, true
	case "lock":
		return 16, 0, true
	case "unlock":
		return 16, 1, true
	case "connect", "mount":
		return 17, 0, true
	case "disconnect", "unmount":
		return 17, 1, true
	case "open", "opened", "opening":
		return 18, 0, true
	case "close", "closed", "closing", "shut":
		return 18, 1, true
	case "start", "started", "starting":
		return 19, 0, true
	case "stop", "stopped", "stopping", "quit":
		return 19, 1, true
	case "show", "display", "unhide":
		return 20, 0, true
	case "hide", "hidden":
		return 20, 1, true
	case "include":
		return 21, 0, true
	case "exclude":
		return 21, 1, true
	case "accept", "approve":
		return 22, 0, true
	case "reject", "decline":
		return 22, 1, true
	case "login", "signin":
		return 23, 0, true
	case "logout", "signout":
		return 23, 1, true
	case "read", "reads", "reading":
		return 38, 0, true
	case "write", "writes", "writing", "wrote", "written":
		return 38, 1, true
	// Arithmetic.
	case "plus", "sum":
		return 24, 0, true
	case "minus", "difference":
		return 24, 1, true
	case "multiply", "multiplied", "multiplying", "multiplication", "times", "product":
		return 25, 0, true
	case "divide", "division", "quotient":
		return 25, 1, true
	// Values and judgements.
	case "true":
		return 26, 0, true
	case "false":
		return 26, 1, true
	case "positive":
		return 27, 0, true
	case "negative":
		return 27, 1, true
	case "good", "better", "best":
		return 28, 0, true
	case "bad", "worse", "worst":
		return 28, 1, true
	case "advantage", "pro", "pros", "benefit", "merit":
		return 29, 0, true
	case "disadvantage", "con", "cons", "drawback", "downside", "demerit":
		return 29, 1, true
	case "love", "loved", "loving":
		return 30, 0, true
	case "hate", "hated", "hating":
		return 30, 1, true
	case "buy", "bought", "purchase", "buying":
		return 31, 0, true
	case "sell", "sold", "selling":
		return 31, 1, true
	case "gain", "win", "won", "winning":
		return 32, 0, true
	case "lose", "lost", "losing", "loss":
		return 32, 1, true
	case "cheap", "cheaper", "cheapest":
		return 33, 0, true
	case "expensive", "costlier", "costliest":
		return 33, 1, true
	case "rich", "richer", "richest", "wealthy":
		return 34, 0, true
	case "poor", "poorer", "poorest":
		return 34, 1, true
	case "hot", "hotter", "hottest", "heat":
		return 35, 0, true
	case "cold", "colder", "coldest", "freeze":
		return 35, 1, true
	case "legal", "lawful":
		return 36, 0, true
	case "illegal", "unlawful":
		return 36, 1, true
	case "male", "man", "men", "boy", "boys", "boyfriend", "husband", "father", "son":
		return 37, 0, true
	case "female", "woman", "women", "girl", "girls", "girlfriend", "wife", "mother", "daughter":
		return 37, 1, true
	case "inbound", "incoming":
		return 11, 0, true
	case "outbound", "outgoing":
		return 11, 1, true
	}
	return 0, 0, false
}

// convTerm returns the id of a unit, data format, data type, programming
// language or natural language: the things a "convert X to Y" question
// names. Synonyms share an id.
func convTerm(w string) (uint8, bool) {
	switch w {
	// Temperature.
	case "celsius", "centigrade":
		return 1, true
	case "fahrenheit":
		return 2, true
	case "kelvin":
		return 3, true
	// Length, mass, volume, speed.
	case "km", "kms", "kilometer", "kilometers", "kilometre", "kilometres":
		return 4, true
	case "mile", "miles", "mi":
		return 5, true
	case "meter", "meters", "metre", "metres":
		return 6, true
	case "feet", "foot", "ft":
		return 7, true
	case "inch", "inches":
		return 8, true
	case "cm", "centimeter", "centimeters", "centimetre", "centimetres":
		return 9, true
	case "mm", "millimeter", "millimeters", "millimetre", "millimetres":
		return 10, true
	case "yard", "yards", "yd":
		return 11, true
	case "kg", "kgs", "kilogram", "kilograms", "kilo", "kilos":
		return 12, true
	case "lb", "lbs", "pound", "pounds":
		return 13, true
	case "gram", "grams", "gm":
		return 14, true
	case "ounce", "ounces", "oz":
		return 15, true
	case "liter", "liters", "litre", "litres":
		return 16, true
	case "gallon", "gallons", "gal":
		return 17, true
	case "mph":
		return 18, true
	case "kph", "kmh":
		return 19, true
	// Time.
	case "second", "seconds", "sec", "secs":
		return 20, true
	case "minute", "minutes", "mins":
		return 21, true
	case "hour", "hours", "hrs":
		return 22, true
	case "day", "days":
		return 23, true
	// Currency.
	case "usd", "dollar", "dollars":
		return 24, true
	case "eur", "euro", "euros":
		return 25, true
	case "gbp", "sterling":
		return 26, true
	case "inr", "rupee", "rupees":
		return 27, true
	case "yen", "jpy":
		return 28, true
	// Data formats and encodings.
	case "json":
		return 30, true
	case "yaml", "yml":
		return 31, true
	case "xml":
		return 32, true
	case "csv":
		return 33, true
	case "html":
		return 34, true
	case "markdown":
		return 35, true
	case "pdf":
		return 36, true
	case "docx", "doc":
		return 37, true
	case "excel", "xlsx", "xls":
		return 38, true
	case "png":
		return 39, true
	case "jpg", "jpeg":
		return 40, true
	case "gif":
		return 41, true
	case "svg":
		return 42, true
	case "mp3":
		return 43, true
	case "mp4":
		return 44, true
	case "wav":
		return 45, true
	case "base64":
		return 46, true
	case "hex", "hexadecimal":
		return 47, true
	case "binary":
		return 48, true
	case "decimal":
		return 49, true
	case "octal":
		return 50, true
	case "ascii":
		return 51, true
	case "toml":
		return 52, true
	// Data types.
	case "string", "strings", "str":
		return 60, true
	case "int", "integer", "integers", "ints":
		return 61, true
	case "float", "floats", "double":
		return 62, true
	case "char", "character", "chars":
		return 63, true
	case "list", "lists":
		return 64, true
	case "array", "arrays":
		return 65, true
	case "dict", "dictionary", "map", "hashmap":
		return 66, true
	case "tuple", "tuples":
		return 67, true
	case "bytes", "bytearray":
		return 68, true
	case "datetime", "date", "timestamp":
		return 69, true
	case "dataframe":
		return 70, true
	// Programming languages.
	case "python", "py":
		return 80, true
	case "java":
		return 81, true
	case "javascript", "js":
		return 82, true
	case "typescript", "ts":
		return 83, true
	case "c":
		return 84, true
	case "c++", "cpp":
		return 85, true
	case "c#", "csharp":
		return 86, true
	case "golang":
		return 87, true
	case "rust":
		return 88, true
	case "ruby":
		return 89, true
	case "php":
		return 90, true
	case "kotlin":
		return 91, true
	case "swift":
		return 92, true
	case "scala":
		return 93, true
	case "perl":
		return 94, true
	case "sql":
		return 95, true
	case "bash", "shell":
		return 96, true
	case "matlab":
		return 97, true
	case "haskell":
		return 98, true
	// Natural languages.
	case "english":
		return 110, true
	case "french":
		return 111, true
	case "spanish":
		return 112, true
	case "german":
		return 113, true
	case "italian":
		return 114, true
	case "portuguese":
		return 115, true
	case "chinese", "mandarin":
		return 116, true
	case "japanese":
		return 117, true
	case "korean":
		return 118, true
	case "hindi":
		return 119, true
	case "arabic":
		return 120, true
	case "russian":
		return 121, true
	case "dutch":
		return 122, true
	case "latin":
		return 123, true
	case "greek":
		return 124, true
	case "urdu":
		return 125, true
	case "bengali":
		return 126, true
	case "tamil":
		return 127, true
	case "turkish":
		return 128, true
	}
	return 0, false
}
