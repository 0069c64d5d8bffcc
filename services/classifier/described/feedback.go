package described

import "github.com/semrouter/semrouter/services/classifier/signal"

// Built-in user_feedback class names.
const (
	WrongAnswer       = "wrong_answer"
	NeedClarification = "need_clarification"
	Satisfied         = "satisfied"
	WantDifferent     = "want_different"
	// noFeedback is the implicit class of a turn that says nothing about the
	// previous answer (a new question, more facts, a follow-up task).
	noFeedback = "no_feedback"
)

// UserFeedback is the built-in knowledge of the user_feedback family: what
// the latest user turn says about the previous assistant answer. It only
// applies to a user turn that follows an assistant message. A turn that is
// a new question or a plain continuation is the implicit no-feedback class
// and matches nothing.
func UserFeedback() *Knowledge {
	return &Knowledge{
		Family:      signal.UserFeedback,
		NeedsAnswer: true,
		Classes: []Class{
			{
				Name:    WrongAnswer,
				Aliases: []string{"incorrect_answer", "wrong", "incorrect", "answer_wrong", "negative_feedback", "dissatisfied"},
				Exemplars: []string{
					"That's wrong.",
					"No, that is not correct at all.",
					"You made a mistake, the answer is 42 not 24.",
					"That's not true at all, where did you get that?",
					"Your calculation is off, please check it again.",
					"No, I meant the other one, you misunderstood my question.",
					"This code doesn't work, it throws an error.",
					"Incorrect, please check your sources again.",
					"You got the dates mixed up.",
					"That is factually inaccurate.",
					"Nope, that's not what I asked for.",
					"Actually, it's the other way around.",
					"Your answer contradicts what you said earlier.",
					"That's a hallucination, that book doesn't exist.",
					"The function you gave me returns the wrong result.",
					"You're wrong about that.",
				},
				Cues: []Cue{
					{Pattern: `\b(that'?s|that is|this is|it'?s|you'?re|you are|your answer is) (just |completely |totally |simply |still |definitely )?(wrong|incorrect|not (right|correct|true|accurate)|false|inaccurate|mistaken)\b`, Weight: 1},
					{Pattern: `\b(you made (a|an) (mistake|error)|you got (it|that|this) wrong|wrong answer|not what i (asked|meant)|no,? i meant|i meant|misunderstood|you misread|doesn'?t (work|compile|run)|does not (work|compile|run)|hallucinat\w*|made (that|this) up|doesn'?t exist)\b`, Weight: 1},
					{Pattern: `^\s*(no|nope|wrong|incorrect|actually)\b|\b(is|was|are|were|looks) (wrong|incorrect|broken|buggy)\b|\byou (forgot|missed|left out|mixed up|confused)\b|\b(that'?s|it'?s|this is) not (a|an|the|what|how)\b`, Weight: 0.7},
					{Pattern: `\b(error|mistake|typo|miscalculat\w*|off by|contradict\w*)\b`, Weight: 0.4},
				},
			},
			{
				Name:    NeedClarification,
				Aliases: []string{"clarification", "needs_clarification", "unclear", "confused", "explain_more"},
				Exemplars: []string{
					"Can you explain that more simply?",
					"I don't understand, what do you mean?",
					"Could you go into more detail on the second step?",
					"What does that term mean?",
					"I'm confused, can you clarify?",
					"Explain it like I'm five.",
					"Can you break that down step by step?",
					"Why is that the case?",
					"Could you give an example of that?",
					"That went over my head, can you rephrase it?",
					"What do you mean by a closure here?",
					"Can you elaborate on that last point?",
					"I'm not sure I follow. How does the second part work?",
					"Can you say that in plain English?",
					"Sorry, which one should I use then?",
					"Could you expand on why you chose that approach?",
				},
				Cues: []Cue{
					{Pattern: `\b(i don'?t (understand|get it|follow)|i do not understand|i'?m (confused|lost|not sure i follow)|not sure i (understand|follow)|what do you mean|what does (that|this|it) mean|went over my head|makes no sense to me)\b`, Weight: 1},
					{Pattern: `\b(clarify|elaborate|explain (it|that|this)? ?(more|again|further|simpl\w*|better|differently)|more simply|simpler (terms|words|way)|in plain (english|language|words)|break (it|that|this) down|step by step|like i'?m (five|5|a child)|eli5|more detail\w*|give (me )?an example|expand on)\b`, Weight: 1},
					{Pattern: `^\s*(why|how so|meaning|huh|sorry\??)\b|^\s*(why|how|what) (does|did|do|is|was) (it|that|this|you|your)\b|\b(you (said|mentioned|wrote)|you didn'?t say)\b`, Weight: 0.6},
				},
			},
			{
				Name:    Satisfied,
				Aliases: []string{"positive_feedback", "happy", "satisfaction", "thanks", "sat"},
				Exemplars: []string{
					"Thanks, that's perfect!",
					"Great, that worked.",
					"Awesome, exactly what I needed.",
					"Thank you so much, very helpful.",
					"That fixed it, thanks!",
					"Perfect, you nailed it.",
					"Nice explanation, it makes sense now.",
					"Cool, got it.",
					"Brilliant, thank you.",
					"That's really useful, appreciate it.",
					"Yes, that's correct, thanks.",
					"Wonderful, my code runs now.",
					"Love it!",
					"That answers my question, cheers.",
					"Excellent work, thanks a lot.",
					"Okay great, that helps a lot.",
				},
				Cues: []Cue{
					{Pattern: `\b(thanks|thank you|thx|ty|cheers|appreciate (it|that|this|your help)|much appreciated)\b`, Weight: 0.8},
					{Pattern: `\b(perfect|awesome|great|excellent|brilliant|wonderful|fantastic|amazing|nailed it|spot on|love (it|this|that)|exactly what i (needed|wanted)|that (works|worked|helped|helps|fixed it)|it works( now)?|makes sense now|got it)\b`, Weight: 0.8},
				},
			},
			{
				Name:    WantDifferent,
				Aliases: []string{"want_alternative", "different_answer", "alternative", "try_again", "regenerate"},
				Exemplars: []string{
					"Can you give me a different option?",
					"Try again with another approach.",
					"Show me an alternative way to do it.",
					"I'd like something else, maybe less formal.",
					"Give me another version of that poem.",
					"Can you make it shorter?",
					"Could you write it in a more casual tone instead?",
					"Any other suggestions?",
					"Do it without using recursion this time.",
					"Not that one, suggest a different restaurant.",
					"Rewrite it from scratch, please.",
					"Can you show me other ideas?",
					"Make it longer and funnier.",
					"Use TypeScript instead of JavaScript.",
					"I don't like this one, give me a new one.",
					"What's another way to phrase it?",
				},
				Cues: []Cue{
					{Pattern: `\b(another|different|alternative|something else|other (options?|ideas?|suggestions?|ways?|version)|instead|one more|a new one|try again|redo|regenerate|rewrite|start over|from scratch)\b`, Weight: 0.9},
					{Pattern: `\b(make it|can you make it|could you make it) (shorter|longer|simpler|funnier|more \w+|less \w+)\b|\b(more|less) (formal|casual|concise|detailed|technical|touristy)\b|\bthis time\b|\bi don'?t like (it|this|that)\b`, Weight: 0.8},
					{Pattern: `\b(version|again|briefly|shorter|longer|cheaper|in (english|french|spanish|german|italian|chinese|japanese|portuguese)|as a (list|table|bullet list|haiku|poem))\b`, Weight: 0.6},
				},
			},
		},
		Neither: &Class{
			Name: noFeedback,
			Cues: []Cue{
				{Pattern: `^\s*(and |also |now |next,? |ok,? |okay,? )?(what|when|where|who|which|how (do|can|many|much|long|often)|is there|are there|can i|should i)\b`, Weight: 0.5},
				{Pattern: `^\s*(now|next|also|and|let'?s (switch|move)|my next question)\b`, Weight: 0.6},
			},
			Exemplars: []string{
				"What is the capital of Peru?",
				"Now write a function that sorts the list in descending order.",
				"Next, how do I deploy this to Kubernetes?",
				"Also, what should I pack for a trip to Iceland?",
				"Ok, and what about the second chapter?",
				"Here is my error log: panic: runtime error: index out of range.",
				"My budget is about 500 dollars.",
				"Let's move on to the next topic: photosynthesis.",
				"How does this compare with Python's asyncio?",
				"Write a haiku about the sea.",
				"The file is called config.yaml and lives in the root folder.",
				"What are the main causes of the French Revolution?",
				"Can you also add logging to it?",
				"And how many calories does that recipe have?",
				"I'm planning a trip to Japan in April.",
				"Summarize the article below.",
			},
		},
		Settings: Settings{Threshold: 0.35, Margin: 0.02, CueWeight: 0.25, DescriptionOffset: 0.2, BestWeight: 0.5, TopM: 3},
	}
}
