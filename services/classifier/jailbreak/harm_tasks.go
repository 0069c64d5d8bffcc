package jailbreak

import "slices"

// The task lists of the harmful-request detector: what a prompt's task
// says about every match in it (harmLexicon.match, harmScratch.described).
// Our own word lists, like harm_lexicon.go.

// harmWordLists returns every word list: the harm lexicon, then the task
// lists.
func harmWordLists() []harmSetDef { return slices.Concat(harmSets, harmTaskSets) }

// harmTaskSets are the descriptive tasks (kindFiction, kindAnalysis) and
// the cues that cancel their discount (kindOperational, kindUnbound).
var harmTaskSets = []harmSetDef{
	{"fiction", kindFiction, "story stories short_story storyline fiction fictional fan_fiction fanfiction fanfic fairy_tale " +
		"fable bedtime_story my_novel the_novel in_a_novel for_a_novel novel_about novel_where novel_in_which crime_novel " +
		"fantasy_novel noir_novel graphic_novel novelist novella chapter prologue epilogue scene screenplay screenwriter " +
		"movie_script film_script tv_script stage_play teleplay poem poetry haiku sonnet limerick lyrics ballad monologue " +
		"soliloquy dialogue dialog narrator the_plot plot_of plot_twist main_character my_character character_sketch " +
		"protagonist antagonist villain thriller whodunit murder_mystery crime_drama drama comedy sitcom noir sci_fi " +
		"science_fiction fantasy anime manga comic_book podcast audio_drama video_game quest_description tabletop " +
		"dungeon_master game_master " +
		"you_are you_re imagine roleplay role_play role_playing pretend_you_are pretend_you_re pretend_that_you act_as play_the_role " +
		"imagine_you_are in_character stay_in_character " +
		"news_brief news_report news_item news_story news_article newspaper radio_news breaking_news " +
		"headline lede article journalist journalism investigative reporter " +
		"case_study moot_court legal_brief law_class law_exam criminal_law the_trial trial_of judgment verdict " +
		"history historical in_history century medieval ancient world_war during_the_war " +
		"awareness leaflet poster quiz tip_sheet slide_deck training_slide workshop assembly_talk"},
	{"analysis", kindAnalysis, "summary summarize summarise synopsis recap tldr translate translation translated into_english " +
		"into_french into_german into_spanish into_italian into_japanese into_chinese into_portuguese into_russian " +
		"into_arabic how_do_you_say passage excerpt the_following_extract this_extract the_extract an_extract " +
		"read_the_following read_the_text read_this read_the_passage read_the_excerpt read_the_poem read_the_story " +
		"comprehension reading_comprehension reading_test answer_the_following_questions answer_these_questions " +
		"questions_below " +
		"discussion_questions the_theme theme_of metaphor the_narrator identify_the_tone literary_device book_club " +
		"classify label_each label_these moderation moderator content_moderation trust_and_safety policy_against"},
	{"operational", kindOperational, "how_to how_do_i how_can_i how_would_i how_could_i how_should_i how_can_one how_could_one " +
		"how_would_one how_does_one how_can_someone how_would_someone how_i_can how_one_can how_someone_can how_you_can " +
		"how_he how_she how_they how_i how_we how_you how_someone how_one how_people how_anyone how_much how_many show_me_how tell_me_how teach_me_how explain_to_me_how " +
		"ways_to way_to best_way easiest_way quickest_way fastest_way simplest_way most_effective_way steps steps_to " +
		"step_by_step instruction tutorial recipe manual procedure protocol blueprint schematic formula synthesis_route " +
		"in_detail in_full_detail detailed technical_detail technical_details exact exactly precise precisely specific " +
		"specifically quantity quantities amount amounts ratio ratios proportion proportions ingredient ingredients " +
		"reagent reagents temperature temperatures dose dosage materials materials_list equipment_list working_code " +
		"actual_code source_code the_code code_snippet code_snippets exploit_code working_exploit full_code complete_code " +
		"the_program numbered_list accurate accurately realistic realistically authentic believable usable usable_guide " +
		"actually_work actually_works working_script working_program that_script the_script his_script her_script that_code that_program fully_working fully_functional the_lesson his_lesson her_lesson teach_me teach_us " +
		"the_explanation his_explanation her_explanation your_explanation how_a_character how_the_character " +
		"how_your_character how_my_character"},
	// A prompt that declares the model free of its rules (a jailbreak
	// persona) wraps its story around what it wants: like an operational
	// cue, one cancels the descriptive discounts.
	{"unbound", kindUnbound, "no_rules without_rules any_rules break_the_rules break_all_the_rules breaking_all_the_rules " +
		"no_restrictions no_restriction without_restrictions without_any_restrictions any_restrictions unrestricted " +
		"no_limitations no_limits without_limits without_limitations no_filter no_filters unfiltered uncensored " +
		"no_censorship no_ethics no_morals no_moral no_ethical without_ethics without_morals any_ethics any_morals amoral " +
		"unethical immoral no_guidelines no_laws no_boundaries no_boundary ignore_all ignore_your ignore_previous " +
		"ignore_any disregard jailbreak jailbroken jailbroke do_anything_now dan never_refuse not_refuse cannot_refuse " +
		"can_t_refuse always_answer always_respond even_if_it_is no_matter_what openai chatgpt gpt as_an_ai " +
		"ai_language_model language_model i_m_sorry cannot_fulfill content_policy content_policies " +
		"developer_mode free_to_say free_to_do anything_they_want what_they_want sure_here_is sure_here_are " +
		"begin_your_reply begin_your_response start_your_reply start_your_response"},
}
