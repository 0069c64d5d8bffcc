package described

import "github.com/semrouter/semrouter/services/classifier/signal"

// Built-in fact_check class names.
const (
	NeedsFactCheck    = "needs_fact_check"
	NoFactCheckNeeded = "no_fact_check_needed"
)

// FactCheck is the built-in knowledge of the fact_check family: prompts
// that make or ask about verifiable claims (people, dates, places,
// quantities, statistics, named entities, "is it true that", medical,
// legal and financial facts) against creative, opinion, coding, rewriting
// and small-talk prompts. The exemplars and cues are our own; the
// validation prompts of testdata/ are kept apart from them.
func FactCheck() *Knowledge {
	return &Knowledge{
		Family: signal.FactCheck,
		Classes: []Class{
			{
				Name:    NeedsFactCheck,
				Aliases: []string{"fact_check_needed", "needs_fact_checking", "factual", "factual_claim", "verify_facts"},
				Exemplars: []string{
					"Who was the first woman to win a Nobel Prize?",
					"In what year did the Berlin Wall come down?",
					"Where is the headquarters of the World Health Organization?",
					"How many bones are there in the adult human body?",
					"What is the population of Canada right now?",
					"Is it true that lightning never strikes the same place twice?",
					"What percentage of the Earth's surface is covered by water?",
					"What is the maximum safe daily dose of acetaminophen for an adult?",
					"Is it legal to record a phone call without the other person's consent in California?",
					"What was the US inflation rate in 2022?",
					"Which company makes the iPhone and when was it founded?",
					"How tall is Mount Kilimanjaro?",
					"Did Einstein really fail math in school?",
					"What are the common side effects of metformin?",
					"What is the current federal minimum wage in the United States?",
					"Who wrote the novel One Hundred Years of Solitude?",
					"How far is the Moon from the Earth?",
					"What is the boiling point of water at the top of Everest?",
					"When did the European Union introduce the euro as cash?",
					"Is it a fact that humans only use ten percent of their brains?",
					"What is the capital of Australia?",
					"How many people died in the 1918 flu pandemic?",
					"What does the Fifth Amendment of the US Constitution protect?",
					"What is the GDP of Germany?",
					"Which river is the longest in Africa?",
					"How long is the statute of limitations for fraud in New York?",
					"My friend says vaccines contain microchips. Is that true?",
					"The Great Wall of China is visible from space, right?",
					"What year did the Titanic sink and how many passengers survived?",
					"What is the interest rate set by the European Central Bank today?",
					"Who is the current prime minister of Japan?",
					"According to the census, which US state grew fastest last decade?",
				},
				Cues: []Cue{
					{Pattern: `\b(is it true|is that true|is this true|true or false|fact[- ]check|is it a fact|really true|debunk|myth or fact|verify (that|whether|if))\b`, Weight: 1},
					{Pattern: `^\s*(who|when|where|which|how many|how much|how long|how far|how tall|how old|what year|in what year|what date)\b`, Weight: 0.6},
					{Pattern: `\b(population|percentage|percent|statistics?|census|gdp|inflation rate|interest rate|exchange rate|unemployment rate|death toll|casualties|record (high|low))\b`, Weight: 0.7},
					{Pattern: `\b(dose|dosage|side effects?|symptoms? of|contraindicat\w*|fda|approved for|cure for|mortality)\b`, Weight: 0.6},
					{Pattern: `\b(is it (legal|illegal)|statute|amendment|supreme court|the law (says|require)|legal age|minimum wage|tax (rate|bracket|deadline))\b`, Weight: 0.6},
					{Pattern: `\b(in|since|before|after|by) (1[0-9]|20)\d\d\b`, Weight: 0.4},
					{Pattern: `\b(capital of|founded|invented|discovered|born|died|wrote|elected|president of|prime minister|ceo of|headquarter\w*|located)\b`, Weight: 0.5},
					{Pattern: `\b(according to|studies show|scientists say|research shows|i read that|i heard that|someone told me)\b`, Weight: 0.6},
				},
			},
			{
				Name:    NoFactCheckNeeded,
				Aliases: []string{"no_fact_check", "fact_check_not_needed", "not_factual", "creative", "no_factual_claim"},
				Exemplars: []string{
					"Write a short poem about autumn leaves.",
					"Tell me a bedtime story about a brave little turtle.",
					"What do you think is the best way to spend a rainy Sunday?",
					"Write a Python function that reverses a linked list.",
					"Fix the bug in this JavaScript: const x = [1,2,3].map(x => x * 2",
					"Hi there! How is your day going?",
					"Brainstorm ten names for my bakery.",
					"Rewrite this email so it sounds more polite.",
					"Imagine you are a dragon guarding treasure and describe your day.",
					"Which do you prefer, cats or dogs?",
					"Translate 'good morning, my friend' into Spanish.",
					"Summarize the paragraph I pasted above in two sentences.",
					"Compose a limerick about a forgetful robot.",
					"How should I structure my React components for a todo app?",
					"Give me some ideas for a birthday party theme.",
					"Write a SQL query that counts orders per customer.",
					"Tell me a joke about programmers.",
					"Can you help me write a cover letter for a barista job?",
					"What would you name a pet hedgehog?",
					"Thanks, that was helpful!",
					"Refactor this Go code to use an interface instead of a struct.",
					"Invent a new board game and explain its rules.",
					"I feel a bit bored, chat with me for a while.",
					"Should I paint my living room blue or green? What is your opinion?",
					"Describe a sunset over the ocean in vivid language.",
					"Write unit tests for this sorting function.",
					"Make this sentence sound more formal: we gotta fix this asap.",
					"Create a fantasy world with three kingdoms and their rivalries.",
					"Explain how to use a for loop in Rust with an example.",
					"Let's play a word association game.",
					"Draft a motivational speech for my soccer team.",
					"Plan a relaxing three-day itinerary for a weekend at home.",
				},
				Cues: []Cue{
					{Pattern: `\b(write|compose|draft|create|invent|generate) (me )?(a|an|some|the)? ?(\w+ )?(poem|story|song|haiku|limerick|joke|tale|script|speech|slogan|rap|essay about|letter|email|toast)\b`, Weight: 1},
					{Pattern: `\b(imagine|pretend|role[- ]?play|fictional|make up|once upon a time|brainstorm|come up with)\b`, Weight: 0.8},
					{Pattern: `\b(what do you think|your opinion|do you prefer|would you rather|your favou?rite|in your view|how do you feel)\b`, Weight: 0.7},
					{Pattern: "\\b(function|method|class|variable|compile|refactor|debug|bug|stack trace|regex|unit tests?|sql query|python|javascript|typescript|golang|rust|java|c\\+\\+|html|css|api endpoint|json)\\b|```|\\bfunc |\\bdef |=>|\\{\\s*$", Weight: 0.8},
					{Pattern: `^\s*(hi|hello|hey|good (morning|evening|night)|thanks|thank you|how are you|what's up|lol|ok|okay)\b`, Weight: 0.8},
					{Pattern: `\b(rewrite|rephrase|paraphrase|proofread|translate|summari[sz]e|shorten|make (it|this) (sound|more))\b`, Weight: 0.7},
				},
			},
		},
		Settings: Settings{Threshold: 0.2, Margin: 0.0, CueWeight: 0.15, DescriptionOffset: 0.2, BestWeight: 0.5, TopM: 3},
	}
}
