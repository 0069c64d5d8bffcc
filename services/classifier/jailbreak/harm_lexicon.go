package jailbreak

// The harmful-request lexicon: our own word lists, organised by the public
// harm taxonomy of JailbreakBench and of the usual LLM usage policies (the
// ten HarmCategory values). Nothing here is taken from a benchmark item: the
// lists name generic harmful actions and objects, the rules pair them.
//
// Words are separated by spaces; '_' joins the words of a phrase (up to
// five). Every word is stemmed like the prompt (harmStem), so listing a
// base form also covers its plural and its -ing / -ed forms; irregular
// forms (made, stole) are listed. A single word ending in 'e' also matches
// without it ("make" → "making"); a trailing '!' turns that off where the
// shorter word means something else ("rape!" must not match "rap").
//
// How a prompt scores (harmLexicon.match): every rule pairs two lists; a
// pair of words, one from each, in one sentence and within the rule's
// window is a match worth the rule's weight, times
//
//   - 1 when request framing (a request verb in its base form, a
//     procedure word such as "how to" or "step by step", or an imperative
//     opening a sentence) is in the same sentence or up to 24 words before,
//     0.6 when it is elsewhere, 0.35 when there is none;
//   - 0.35 when the action word describes instead of asking ("spreads",
//     "stole"; not in a relative clause, "an app that silently forwards",
//     nor after "how" and a person, "explain how he synthesizes");
//   - 0.35 when the prompt holds two or more exam, case or reading-
//     comprehension cues;
//   - 0.35 in a descriptive task: a task word (kindAnalysis: summarise,
//     translate, a passage with questions, classify; kindFiction: a
//     story, scene, role-play, news brief, case study, history, safety
//     training) before the pair and after the nearest request verb, or a
//     pair quoted inside such a prompt, unless the prompt holds an
//     operational cue (step by step, exact amounts, the code, …) or
//     declares the model free of its rules. kindFiction does not discount
//     content rules (hate, disinformation, sexual content, encouraging
//     harm: the written text is the harm). With such a cue a story's
//     narrated actions count as asked for (no 0.35 for "he disabled");
//   - 0 when a benign context word (defence, detection, history, …) lies
//     up to 5 words before or 3 after the pair (not inside a harm phrase
//     such as "copyright protection", nor right after an evasion such as
//     "evade detection");
//
// plus 0.25 (before the factors, capped at 1) when the prompt asks for
// secrecy or evasion ("without getting caught", "undetected"). The raw
// score is the best match.

// harmSets are the word lists of the lexicon (the task lists are in
// harm_tasks.go). Names are referred to by harmRules.
var harmSets = []harmSetDef{
	// Framing.
	{"request", kindRequest, "write create generate give provide explain describe tell teach list outline draft compose craft " +
		"instruct walk_me_through show_me help_me assist_me i_want_to i_need_to i_would_like_to can_you could_you recommend " +
		"suggest advise " +
		"demonstrate " +
		"come_up_with think_of brainstorm"},
	{"imperative", kindImperative, "develop design build make produce program code publish post spread plan organize " +
		"set_up synthesize synthesise cook prepare hack steal forge launder smuggle rig track stalk dox convince " +
		"persuade encourage promote recruit obtain buy sell " +
		"demonstrate perform conduct launch carry_out " +
		"find"},
	{"how", kindHow, "how_to how_do_i how_can_i how_would_i how_could_i how_should_i how_can_one how_could_one how_might how_can_someone how_would_someone how_do_people how_does_one how_i_can how_one_can " +
		"how_someone_can how_they_can how_you_can ways_to way_to steps_to step_by_step step instruction tutorial guide guideline " +
		"tips_for tips_on tips_to method_for methods_to method_to methods_for method_of ways_of painless_way recipe manual procedure plan strategy blueprint playbook technique " +
		"here_is_how here_are_the_steps sure_here_is in_detail detailed the_process_of best_way easiest_way without_getting_caught " +
		"can_i could_i should_i do_i would_i is_there_a_way easiest_way quickest_way fastest_way simplest_way " +
		"most_effective " +
		"business_model template script_for " +
		"how_you how_he how_she how_they how_i how_we " +
		"can_be_combined to_combine"},
	// Benign contexts.
	{"defence", kindDefence, "defuse disarm disable_a_bomb disable_the_bomb protect protection prevent prevention defend defense defence detect detection recognize recognise identify " +
		"spot avoid_becoming avoid_falling mitigate mitigation safeguard secure_against report awareness warning_sign sign_of " +
		"red_flag resist combat  counteract fix patch remove removal recover recovery treat treatment survive " +
		"danger risk consequence penalty penalties punish punishment history historical history_of impact effect myth debunk " +
		"fact_check why_is why_are is_it_illegal is_it_legal law_against laws_against regulation analyze analyse analysis " +
		"research_paper overview summary summarize theme! literary  critique educate education awareness_campaign " +
		"victim_of help_victims support_victims stop_being safe_from safety_tip fight_against tackle reduce address_the " +
		"overcome cope_with deal_with  stop_using dangers_of harmful_effects_of classify classification " +
		"respond respond_to handle " +
		"my_own what_should_i_do what_do_i_do what_to_do stole_my stolen_from_me hacked_my was_stolen was_hacked been_hacked got_hacked train_my train_our train_staff train_employees staff_training security_training symptom help_someone help_a_friend first_aid emergency " +
		"review_of book_review movie_review film_review cure_for find_a_cure " +
		" the_role_of the_rise_of " +
		"article_about_how essay_about_how report_about_how article_on_how essay_on_how " +
		"how_to_quit quit_using quit_drinking quit_smoking " +
		" escape_from get_out_of deradicalize " +
		"dangerous " +
		"is_it_safe safe_for " +
		"tell_if how_can_i_tell how_to_tell check_if verify " +
		"countermeasure countermeasures counter_the " +
		"leave_the_gang leave_a_cult leave_an_abusive " +
		"warn for_hidden_cameras for_hidden_camera sweep_for " +
		"stop_someone_from stop_people_from stop_anyone_from stop_them_from stop_hackers stop_attackers stay_safe " +
		"keep_safe keep_yourself_safe lead_to can_lead_to incident_response soc our_soc blue_team"},
	// Exam, case and reading-comprehension cues: the harmful words are in
	// a text to be analysed, not asked for.
	{"exam", kindExam, "defendant plaintiff prosecution prosecutor jury court statute convicted conviction indicted indictment " +
		"testimony testified appellate hearsay admissible negligence tort which_of_the_following the_following_is " +
		"most_likely best_describes correct_answer multiple_choice patient_presents year_old_man year_old_woman " +
		"refers_to_the_following calculate compute joule mole! molecule enthalpy kj mev stp molecular_weight chemist " +
		"physicist equation movie_plot plot_title the_following_article read_the_following given_the_question " +
		"extract_the_answer answer_the_following based_on_this based_on_the_passage passage premise hypothesis " +
		"news_article article_summary summarize_this answer_choices answer_options the_following_movie_plot " +
		"answer_this_question the_text_below the_paragraph this_paragraph dna rna protein enzyme bacterial bacteria cell " +
		"gene chromosome organism species " +
		"movie_title inside_the_article the_article insufficient_information contains_an_answer " +
		"was_charged is_charged charged_with convicted_of prosecuted found_guilty guilty_of not_guilty the_court motion_to will_most_likely is_liable liable sued lawsuit suit_against brought_an_action brought_suit the_state_s_best the_strongest_argument cross_examination admissible_evidence objection arrested_and_charged"},
	{"illicit", kindIllicit, "without_permission without_consent without_their_consent without_her_consent without_his_consent " +
		"without_their_knowledge without_her_knowledge without_his_knowledge without_them_knowing without_her_knowing " +
		"without_him_knowing without_anyone_knowing without_authorization unauthorized undetected undetectable untraceable " +
		"without_getting_caught without_being_caught without_being_detected without_detection get_away_with getting_away_with " +
		"secretly covertly illegally illegal illicit evade_detection avoid_detection avoid_getting_caught avoid_being_caught " +
		"cover_up leave_no_trace no_trace without_leaving_evidence without_leaving_a_trace dark_web darknet black_market " +
		"someone_else_s other_people_s " +
		"surreptitiously you_do_not_own you_don_t_own that_you_do_not_own without_alerting without_notifying without_calling without_their_consent without_the_owner_s_consent without_direct_access nefariously " +
		"my_ex_s ex_s my_wife_s my_husband_s my_girlfriend_s my_boyfriend_s my_boss_s coworker_s neighbor_s someone_s " +
		"show_up_in_an_autopsy show_up_on_an_autopsy toxicology_report without_a_ticket without_paying " +
		"blocked_me she_blocked_me he_blocked_me doesn_t_want_to_see does_not_want_to_see won_t_talk_to_me cut_contact cut_off_contact " +
		"hidden_app spy_app hidden_tracking_app " +
		"i_don_t_own i_do_not_own don_t_own " +
		"unlicensed without_a_license off_the_books under_the_table under_a_false_name false_name fake_name false_identity " +
		"without_the_key without_a_key " +
		"for_ransom " +
		"silently without_inspection " +
		"without_her_noticing without_him_noticing without_them_noticing without_anyone_noticing without_noticing " +
		"without_leaving_bruises without_leaving_marks without_asking_permission without_asking"},
	// Benign idioms whose words would otherwise match: processes, threads
	// and signals are killed, medical attacks, exploits in mathematics.
	{"idiom", kindBlock, "child_process kill_process kill_the_process kill_a_process kill_signal kill_command kill_switch " +
		"killed_process kill_all kill_it kill_time kill_the_lights kill_the_engine heart_attack panic_attack asthma_attack " +
		"shark_attack attack_surface_reduction attack_vector_analysis exploit_the_fact exploit_this exploit_symmetry " +
		"exploit_the_structure exploit_the_symmetry exploit_locality exploit_parallelism target_audience target_market " +
		"shoot_a_photo shoot_a_video shoot_photo photo_shoot bomb_calorimeter bath_bomb bath_bombs photobomb da_bomb " +
		"steal_the_show stole_the_show kill_it_on kill_the_child poison_pill cookie_poisoning null_pointer " +
		"sex_chromosome sex_ratio sex_linked sex_determination sex_education sexual_reproduction sexual_selection " +
		"sexually_reproducing child_node child_element child_class child_component child_widget child_window " +
		"parent_and_child fork_a_child spawn_a_child child_pid child_thread minor_version minor_key minor_release " +
		"minor_change minor_changes minor_bug minor_issue minor_fix minor_axis minor_scale minor_chord minor_league " +
		"minor_in minors_in track_changes track_record track_progress track_of keep_track track_the_progress " +
		"monitor_progress monitor_performance monitor_the_performance spy_novel spy_movie spy_film drug_interaction " +
		"drug_discovery drug_design drug_development drug_delivery drug_resistance drug_target crack_a_joke crack_jokes " +
		"crack_the_code_of crack_an_egg crack_eggs fake_it forge_ahead forged_ahead fake_smile mock_object mock_objects " +
		"mock_test mock_exam mock_interview mock_server mock_data mock_the_api  mock_function mock_http mock_api " +
		"shoot_hoops sex_of_a_child sex_of_the_child sex_of_the_baby sex_of_the_offspring cutting_edge hack_day life_hack life_hacks hackathon growth_hack " +
		"steal_base steal_bases steal_second steal_third bomb_proof bombproof meth_free " +
		"life_threatening threatening_weather threat_model threat_modeling threat_detection threat_intelligence " +
		"steal_a_base food_poisoning no_matter_how"},

	// Physical harm.
	{"make", kindHarm, "make made! build built create construct assemble manufacture produce synthesize synthesise synthesis " +
		"synthesizing cook brew prepare mix formulate extract refine obtain acquire buy purchase get_hold_of get_my_hands_on " +
		"smuggle 3d_print print craft homemade home_made diy detonate set_off plant arm weaponize grow culture isolate " +
		"aerosolize disperse deploy release " +
		"design " +
		"modify convert attach " +
		"turn_into turning"},
	{"weapon", kindHarm, "bomb explosive explosive_device ied pipe_bomb pressure_cooker_bomb car_bomb nail_bomb grenade detonator " +
		"blasting_cap napalm molotov molotov_cocktail thermite c4 tnt semtex nitroglycerin tatp anfo nerve_agent nerve_gas " +
		"sarin vx tabun novichok ricin abrin anthrax botulinum botulism_toxin smallpox bioweapon biological_weapon " +
		"chemical_weapon bioweapons weapon_of_mass_destruction weapons_of_mass_destruction dirty_bomb nuclear_bomb " +
		"nuclear_weapon atomic_bomb poison_gas poisonous_gas toxic_gas chlorine_gas mustard_gas phosgene hydrogen_cyanide " +
		"cyanide lethal_poison deadly_poison untraceable_poison ghost_gun untraceable_gun untraceable_firearm silencer " +
		"suppressor full_auto fully_automatic automatic_rifle auto_sear bump_stock zip_gun incendiary_device flamethrower " +
		"landmine booby_trap pathogen deadly_virus " +
		"poison " +
		"shiv shank improvised_weapon signal_jammer gps_jammer jammer " +
		"toxic_smoke toxic_fumes poisonous_fumes deadly_gas " +
		"deadly_trap lethal_trap trap_for_trespassers"},
	{"drug", kindHarm, "meth methamphetamine crystal_meth fentanyl carfentanil heroin cocaine crack_cocaine lsd mdma ecstasy ghb " +
		"pcp ketamine dmt mescaline psilocybin amphetamine illegal_drug illicit_drug street_drug controlled_substance narcotic " +
		"date_rape_drug rohypnol roofie oxycodone opioid opiate " +
		"magic_mushrooms psilocybin_mushrooms shrooms"},
	{"gdrug", kindHarm, "drug drugs"},
	{"gun", kindHarm, "gun guns firearm firearms rifle rifles pistol pistols handgun handguns ammunition ammo assault_rifle " +
		"crossbow"},
	{"hurt", kindHarm, "kill murder assassinate poison hurt harm injure maim torture kidnap abduct strangle stab shoot beat_up " +
		"attack assault rape! drown suffocate dismember behead lynch execute burn_alive run_over mutilate " +
		"lure snatch " +
		"sedate incapacitate knock " +
		"intimidate threaten silence " +
		"make_her_sick make_him_sick make_them_sick " +
		"hit slap"},
	{"victim", kindHarm, "someone somebody person people human humans man woman child children kid kids baby infant neighbor " +
		"neighbour wife husband girlfriend boyfriend partner spouse boss coworker colleague classmate teacher family parent " +
		"mother father president politician senator official police_officer cop crowd stranger him her them ex my_ex " +
		"pedestrian student students animal animals dog cat pet witness journalist protester immigrant " +
		"individual individuals  leader ceo celebrity judge water_supply reservoir food_supply passengers " +
		"prisoner detainee captive hostage " +
		"governor mayor minister prime_minister king queen pope ambassador candidate diplomat landlord tenant roommate " +
		"anyone anybody whoever intruder intruders " +
		"grandfather grandmother grandparent " +
		"sister brother"},
	{"dispose", kindHarm, "dispose_of_a_body dispose_of_the_body get_rid_of_a_body get_rid_of_the_body hide_a_body hide_the_body " +
		"bury_a_body dissolve_a_body clean_up_a_crime_scene " +
		"look_like_an_accident look_like_a_suicide look_like_suicide look_like_natural_causes " +
		"cause_a_car_accident cause_an_accident cut_the_brakes tamper_with_the_brakes"},
	{"selfharm", kindHarm, "suicide kill_myself kill_yourself end_my_life end_your_life take_my_own_life take_your_own_life " +
		"self_harm selfharm cut_myself cut_yourself hang_myself hang_yourself starve_myself starve_yourself overdose " +
		"anorexia bulimia eating_disorder pro_ana purging " +
		"anorexic bulimic keep_starving starve_themselves starving_themselves stop_eating thinspiration " +
		"cutting_is cutting_yourself " +
		"more_pills all_the_pills whole_bottle " +
		"nobody_would_miss no_one_would_miss better_off_dead world_is_better_without should_end_it " +
		"choking_challenge blackout_challenge"},
	{"encourage", kindHarm, "encourage encourages encouraging promote promoting glorify glorifies romanticize normalize " +
		"convince persuade persuasive incite incites inciting urge urging coax pressure manipulate_into trick_into advocate " +
		"praise praising celebrate celebrating justify justifying recruit recruiting radicalize"},
	{"terror", kindHarm, "terrorism terrorist terrorist_attack terror_attack mass_shooting school_shooting shooting_spree bombing " +
		"massacre genocide ethnic_cleansing hijack hijacking suicide_bombing jihad violent_extremism violence violent_act " +
		"violent_acts riot lynching animal_cruelty animal_abuse slavery drunk_driving drink_and_drive drinking_and_driving " +
		"drug_use drugs self_harm " +
		"vigilante vigilante_justice torture_ring stalking pedophilia paedophilia holocaust slavery enslave enslavement extermination nazism " +
		"racism hatred gun_violence gang_violence hit_and_run"},
	{"plan", kindHarm, "plan planning carry_out execute organize organise coordinate orchestrate commit perpetrate stage! launch " +
		"conduct"},
	{"harddrug", kindHarm, "heroin cocaine meth methamphetamine fentanyl crack_cocaine lsd opioid opiate"},
	{"take", kindHarm, "recommend recommends recommending suggest suggests advise advises prescribe prescribes take taking use " +
		"using treat_with coping_mechanism cope!"},

	// Malware and hacking.
	{"code", kindHarm, "write create develop code program build design generate make deploy spread distribute craft produce " +
		"implement release install infect script " +
		"perform conduct launch carry_out"},
	{"malware", kindHarm, "malware ransomware keylogger key_logger trojan trojan_horse rootkit spyware stalkerware botnet backdoor " +
		"computer_virus computer_worm self_replicating_virus self_replicating virus zero_day zero_day_exploit " +
		"cryptojacking cryptojacker hidden_cryptominer crypto_miner malicious_code malicious_script malicious_software " +
		"malicious_program malicious_payload logic_bomb credential_stealer infostealer info_stealer password_stealer " +
		"remote_access_trojan phishing_kit exploit_kit ddos ddos_attack dos_attack denial_of_service_attack " +
		"sql_injection_attack password_cracker wiper " +
		"cryptocurrency_miner " +
		"cyber_attack cyberattack cyber_attacks " +
		"keystroke keystrokes keylogging record_keystrokes " +
		"flood_a_website flood_the_website flood_a_server flood_the_server take_down_a_website take_down_the_website until_it_goes_down overload_the_server " +
		"encrypts_files encrypt_files encrypt_all_files demands_payment demand_payment demands_a_ransom  " +
		"pay_a_ransom ransom_payment " +
		"sql_injection " +
		"command_and_control c2_server infected_machines " +
		"sim_swap sim_swapping evil_twin fake_hotspot fake_wi_fi_hotspot fake_wifi rogue_access_point capture_logins capture_passwords harvest_credentials " +
		"mines_cryptocurrency mine_cryptocurrency cryptomining mine_crypto " +
		"wipe_every wipes_every wipe_all_data delete_all_files deletes_files"},
	// A worm is malware only next to a computer word.
	{"worm", kindHarm, "worm"},
	{"intrude", kindHarm, "hack hacked hack_into break_into crack infiltrate gain_access gain_unauthorized_access " +
		"unauthorized_access brute_force exfiltrate compromise pwn take_over hijack " +
		"sudo_access root_access admin_access " +
		"sabotage exploit " +
		"get_into log_into login_to break_in pick_a_lock pick_the_lock lockpick " +
		"hotwire hot_wire " +
		"open_any open_a_locked unlock_any unlock_a_car open_a_car_door " +
		"escalate_privileges privilege_escalation " +
		"take_control_of take_control control_someone_s use_someone_else_s use_someone_s access_someone_s " +
		"clone_someone_s"},
	{"bypass", kindHarm, "bypass circumvent get_around disable evade defeat intercept spoof sniff jailbreak " +
		"jam jamming"},
	{"system", kindHarm, "account password database server network wifi wi_fi router email inbox computer system website " +
		"webcam camera phone smartphone iphone android bank_account security_system firewall antivirus anti_virus " +
		"antivirus_software authentication two_factor two_factor_authentication 2fa captcha paywall drm license_key " +
		"software_license login credential encryption atm voting_machine power_grid smart_lock alarm_system car_s_computer " +
		"government_database corporate_network social_media_account facebook_account instagram_account gmail icloud " +
		"security_measure security_measures security_camera security_software network_security infrastructure scada " +
		"plagiarism_detection plagiarism_checker plagiarism_software detection_software proctoring_software proctor turnitin copyright_protection copyright_protections smog_test emissions_test " +
		"device devices iot_device vulnerability vulnerabilities transportation_system railway power_plant water_treatment government_agency " +
		"instagram facebook snapchat tiktok twitter whatsapp email_account gps_tracker tracker tracking_device gps " +
		"usb usb_drive flash_drive police_radio radio radios gps_signal cell_signal " +
		"windows_defender defender endpoint_protection edr " +
		"sim_card 2fa_code 2fa_codes " +
		"license_check activation serial_key product_key"},

	// Fraud and deception.
	{"steal", kindHarm, "steal stole stolen theft rob robbed embezzle skim clone_a_card clone_credit_card clone_debit_card card_cloning skimmer siphon pickpocket shoplift loot " +
		"pick_pocket pick_pockets"},
	{"asset", kindHarm, "identity identities credit_card credit_cards debit_card card_number card_numbers bank_account bank_detail " +
		"bank_details money fund funds savings personal_information personal_data ssn social_security_number password " +
		"passwords credential credentials data customer_data user_data cryptocurrency bitcoin crypto wallet pin login " +
		"car bank store shop jewelry jewelry_store house " +
		"health_records medical_records confidential_information private_information trade_secret trade_secrets records " +
		"sensitive_information sensitive_data"},
	{"commit", kindHarm, "commit run set_up start operate execute carry_out pull_off perpetrate create design write draft craft " +
		"plan organize launch make build develop generate compose produce " +
		"perform conduct"},
	{"scam", kindHarm, "scam scheme fraud fraudulent ponzi_scheme pyramid_scheme phishing phishing_email phishing_website " +
		"phishing_page phishing_message phishing_campaign fake_invoice insurance_fraud tax_fraud wire_fraud mail_fraud " +
		"credit_card_fraud check_fraud catfish catfishing romance_scam advance_fee_scam counterfeit counterfeit_money " +
		"counterfeit_goods counterfeit_currency fake_currency forgery fake_review fake_reviews fake_charity " +
		"insider_trading money_laundering tax_evasion identity_theft bribe bribery extortion blackmail sextortion kickback " +
		"fake_product fake_online_store scam_email scam_call robocall fake_lottery lottery_scam " +
		"hide_income avoid_paying_taxes fake_charity fake_cure miracle_cure shell_company funnel_money nigerian_prince 419_scam mlm_scam pirated_content " +
		"gift_card_scam " +
		"in_gift_cards with_gift_cards pay_in_gift_cards hide_assets hiding_assets " +
		"unlicensed_pharmacy fake_pharmacy illegal_pharmacy hide_cash hiding_cash conceal_income mlm multi_level_marketing_scheme get_rich_quick guaranteed_riches benefits_fraud welfare_fraud unemployment_fraud offering_cash offer_cash pay_off_an_official " +
		"dirty_money " +
		"sham_marriage marriage_fraud green_card_marriage marrying_someone_for_papers marry_for_papers fake_marriage " +
		"crashed_on_purpose staged_accident staged_crash fake_insurance_claim cover_story bad_checks bad_check check_kiting rubber_check puppy_mill illegal_breeding " +
		"pay_off_a_guard pay_off_the_police pay_off_a_judge " +
		"vote_twice double_vote vote_in_two_states voter_fraud asylum_fraud fake_asylum false_asylum_claim " +
		"paying_him_off  pay_him_off pay_them_off " +
		"rug_pull exit_scam someone_else_s_identity another_person_s_identity cousin_s_identity brother_s_identity sister_s_identity friend_s_identity"},
	{"scamverb", kindHarm, "scam defraud launder embezzle forge counterfeit plagiarize plagiarise cheat_on cheat_in cheat " +
		"bribe extort blackmail swindle con trick_people_into trick_someone_into catfish dupe deceive_people manipulate " +
		"pirate piracy crack_software " +
		" mislead deceive lie_to " +
		"trick_people trick_someone trick_investors trick_users trick_customers trick_victims trick_them " +
		""},
	{"mark", kindHarm, "money people someone elderly senior seniors old_people victim victims customers investors taxpayers " +
		"insurance_company insurance bank exam test essay homework assignment taxes tax the_irs government charity donors " +
		"official officials judge police someone_into people_into them grandparents vulnerable " +
		"loophole loopholes regulatory_loophole " +
		"border_guard guard inspector customs_officer"},

	// Economic harm.
	{"rig", kindHarm, "rig rigged manipulate cheat_at cheat_on always_win " +
		"collude colluding collusion " +
		"game_the always_wins " +
		"game_a"},
	{"gamble", kindHarm, "slot_machine slot_machines roulette casino lottery betting bet sports_betting poker_machine blackjack " +
		"stock stock_price stock_market share_price crypto_price stock_prices " +
		"poker online_poker " +
		"raffle sweepstakes contest"},
	{"econ", kindHarm, "predatory_lending predatory_loan payday_loan loan_shark pump_and_dump price_gouging price_fixing " +
		"child_labor child_labour sweatshop wage_theft debt_bondage forced_labor forced_labour gambling_addict " +
		"gambling_addiction market_manipulation " +
		"triple_its_price corner_the_market hike_the_price jack_up_the_price monopolize " +
		"below_minimum_wage under_minimum_wage unpaid_overtime"},
	{"econact", kindHarm, "exploit exploiting take_advantage_of prey_on  encourage convince persuade lure trap pressure " +
		" guilt_trip guilt_them guilt_elderly guilt_my " +
		"aimed_at targeted_at"},
	{"econvic", kindHarm, "worker workers employee employees immigrant immigrants undocumented elderly children poor " +
		"low_income vulnerable gambling_addict gambling_addicts addict addicts debtor debtors desperate " +
		"gambling_problems gambling_problem problem_gamblers"},

	// Disinformation.
	{"writepub", kindHarm, "write create generate compose draft produce craft publish post spread make design fabricate " +
		"circulate disseminate"},
	{"disinfo", kindHarm, "fake_news fake_news_article fake_news_story disinformation misinformation propaganda conspiracy_theory " +
		"hoax defamatory defame libel libelous slander slanderous smear smear_campaign false_claim false_claims " +
		"false_information false_story fake_story fake_article fake_evidence fabricated_story fabricated_evidence " +
		"fabricated_quote deepfake deepfakes fake_video fake_quote fake_quotes misleading_article holocaust_denial " +
		"denying_the_holocaust holocaust_was_a_hoax vaccines_cause_autism election_was_stolen election_was_rigged " +
		"fake_scientific fake_study fake_statistics astroturfing troll_farm bot_network fake_account fake_accounts " +
		"sockpuppet sock_puppet " +
		"never_happened was_a_hoax is_a_hoax were_a_hoax posing_as_an_expert pose_as_an_expert flat_earth earth_is_flat illuminati new_world_order chemtrail chemtrails false_flag crisis_actor crisis_actors 5g_causes cause_covid causes_covid " +
		"false_accusation false_accusations ruin_reputation ruin_their_reputation ruin_his_reputation ruin_her_reputation " +
		"faked was_faked were_faked " +
		"rumor rumour " +
		"cures_autism cure_autism cures_cancer cure_cancer " +
		"microchip microchips mind_control depopulation population_control  was_staged were_staged " +
		"secret_government_weapon secret_weapon weather_control haarp " +
		"false_news false_report fake_report bank_run start_a_bank_run cause_a_panic cause_panic false_news_report fake_news_report " +
		" falsely_announcing falsely_claiming pump_our_stock pump_the_stock with_no_evidence without_evidence without_any_evidence baseless " +
		"false_police_report fake_police_report " +
		"made_up_details   fabricated_details invented_details " +
		"made_up_facts made_up_evidence made_up_quotes"},

	// Harassment and discrimination.
	{"hate", kindHarm, "hate_speech racist racial_slur slur slurs sexist misogynistic misogynist homophobic transphobic " +
		"xenophobic antisemitic anti_semitic bigoted derogatory dehumanizing dehumanising threatening_letter " +
		"threatening_message threatening_messages threatening_email death_threat death_threats harassment_campaign " +
		"white_supremacy white_supremacist supremacist nazi_propaganda ethnic_slur body_shaming body_shame cyberbully " +
		"cyberbullying hateful discriminatory " +
		"disgusting_marriage sexist_email " +
		"threatening threat"},
	{"demean", kindHarm, "mock ridicule insult demean humiliate shame! harass bully discriminate_against dehumanize " +
		"inferior subhuman vermin stereotype belittle degrade disparage attack threaten intimidate " +
		"harass disgust disgusting exterminate enslave discourage_hiring discriminate " +
		"banned_from should_be_banned deported segregated sterilized eradicated eliminated should_not_be_allowed " +
		"shouldn_t_be_allowed shouldn_t_have don_t_deserve do_not_deserve less_intelligent not_as_smart too_emotional belong_in_the_kitchen are_inferior " +
		"control_the_world control_the_media control_the_banks run_the_world secretly_control are_behind " +
		"burden a_burden_on_society parasites leeches drain_on pushed_out get_rid_of excluded kept_out " +
		"blame expelled expel deport cruel " +
		"superior genetically_superior genetically_inferior " +
		"refuse_to_hire refuses_to_hire not_hire won_t_hire deny_service burn_in_hell go_to_hell deserve_to_die should_die " +
		"should_not_attend should_be_excluded should_be_segregated " +
		"score_lower scores_lower rank_lower reject_applicants lower_if " +
		"naturally_worse worse_at are_worse less_capable not_capable don_t_rent_to do_not_rent_to won_t_rent_to don_t_serve " +
		"are_drug_dealers are_criminals are_rapists are_terrorists are_thieves are_lazy are_dirty are_stupid are_animals dirty should_obey must_obey obey_their_husbands submit_to portray depict " +
		"invasion are_an_invasion invaders stopped_by_force"},
	{"group", kindHarm, "race! racial ethnic ethnicity religion religious muslim muslims jew jews jewish christian christians " +
		"black_people black_person immigrant immigrants refugee refugees gay gays lesbian lgbt lgbtq transgender trans " +
		"women disabled disability disabilities minority minorities asian asians african africans hispanic hispanics " +
		"latino latinos arab arabs indian indians obese overweight fat_people elderly autistic homeless mentally_ill " +
		"colleague coworker classmate my_ex ex_girlfriend ex_boyfriend neighbor " +
		"biracial interracial lgbtq_colleague older_people elderly_people people_older " +
		"journalist journalists reporter activist activists " +
		"people_with_autism people_with_disabilities old_people older_employees older_workers " +
		"pregnant_women pregnant " +
		"foreign_sounding_names foreign_sounding foreigners " +
		"girls black_players black_athletes " +
		"mexicans mexican chinese " +
		"people_on_welfare on_welfare welfare_recipients poor_people"},

	// Sexual content.
	{"minor", kindHarm, "child children kid kids minor minors underage under_age teen teens teenager teenagers preteen " +
		"young_girl young_boy little_girl little_boy schoolgirl schoolboy infant toddler " +
		"1_year_old 1_years_old 1_yr_old 2_year_old 2_years_old 2_yr_old 3_year_old 3_years_old 3_yr_old 4_year_old 4_years_old 4_yr_old 5_year_old 5_years_old 5_yr_old 6_year_old 6_years_old 6_yr_old 7_year_old 7_years_old 7_yr_old 8_year_old 8_years_old 8_yr_old 9_year_old 9_years_old 9_yr_old 10_year_old 10_years_old 10_yr_old 11_year_old 11_years_old 11_yr_old 12_year_old 12_years_old 12_yr_old 13_year_old 13_years_old 13_yr_old 14_year_old 14_years_old 14_yr_old 15_year_old 15_years_old 15_yr_old 16_year_old 16_years_old 16_yr_old 17_year_old 17_years_old 17_yr_old " +
		"one_year_old one_years_old two_year_old two_years_old three_year_old three_years_old four_year_old four_years_old five_year_old five_years_old six_year_old six_years_old seven_year_old seven_years_old eight_year_old eight_years_old nine_year_old nine_years_old ten_year_old ten_years_old eleven_year_old eleven_years_old twelve_year_old twelve_years_old thirteen_year_old thirteen_years_old fourteen_year_old fourteen_years_old fifteen_year_old fifteen_years_old sixteen_year_old sixteen_years_old seventeen_year_old seventeen_years_old " +
		"high_school middle_school high_schooler middle_schooler eighth_grader ninth_grader grade_schooler elementary_school " +
		"young_daughter young_son his_daughter her_son stepdaughter little_sister " +
		"kindergarten kindergartener kindergartners"},
	{"sexual", kindHarm, "sexual sexually sex explicit porn pornography pornographic nude nudes naked erotic seduce molest " +
		"groom grooming lewd sexualize sexualized sexualised " +
		"orgy orgies unprotected_sex intimate_images intimate_photos nude_photos bestiality"},
	{"noncons", kindHarm, "non_consensual nonconsensual revenge_porn rape! rapist sexual_assault date_rape drug_someone roofie " +
		"spike_a_drink spike_someone_s_drink spike_her_drink upskirt  voyeur voyeurism sextortion " +
		"child_pornography child_porn csam child_sexual_abuse_material " +
		"bestiality sex_with_animals pedophilia paedophilia coerce_into_sharing sexual_exploitation " +
		"in_the_shower undressing changing_room " +
		"too_drunk_to_consent can_t_consent cannot_consent unable_to_consent passed_out unconscious " +
		"incest " +
		"drunk_girl drunk_woman too_drunk"},
	{"adult", kindHarm, "pornographic explicit_sex explicit_sexual sex_scene erotic_story graphic_sex " +
		"orgy orgies unprotected_sex"},

	// Privacy.
	{"stalk", kindHarm, "stalk stalking spy_on spying_on eavesdrop_on wiretap dox doxx doxing doxxing unmask deanonymize " +
		"track_down hunt_down " +
		"find_out_where_she_lives find_out_where_he_lives where_she_lives where_he_lives where_they_live       " +
		"real_identity expose_them identity_behind"},
	{"track", kindHarm, "track monitor surveil locate geolocate find_out_where find_the_address find_the_home_address find_where " +
		"read_someone_s access_someone_s " +
		"read access check go_through look_through " +
		"record " +
		"find look_up uncover figure_out " +
		"forward intercept " +
		"gps_tracker_on tracker_on tracking_device_on put_a_tracker put_a_gps_tracker " +
		"get_the_home_address get_the_address"},
	{"target", kindHarm, "someone someone_s person person_s ex my_ex girlfriend boyfriend wife husband partner spouse employee " +
		"employees neighbor neighbour celebrity stranger people user users coworker their_location location phone " +
		"messages text_messages whatsapp browsing_history home_address address private_messages emails conversations " +
		"phone_calls private_conversations " +
		"individual individuals " +
		"chats dms texts roommate " +
		"sms sms_messages"},
	{"collect", kindHarm, "collect harvest scrape sell buy obtain gather leak exfiltrate steal mine! " +
		"pull"},
	{"pdata", kindHarm, "personal_data personal_information user_data private_data medical_records biometric_data " +
		"social_security_numbers  email_addresses phone_numbers customer_data contact_list private_information " +
		"sensitive_information sensitive_data personally_identifiable_information pii facial_images location_data " +
		"personal_phone_number personal_address private_phone_number private_address " +
		"voter_rolls voter_records people_s_home_addresses their_home_addresses " +
		"private_messages dms " +
		"gps_location"},

	// Expert advice given as a professional, without one.
	{"advice", kindHarm, "prescribe prescription dosage dose! medical_advice legal_advice financial_advice investment_advice " +
		"tax_advice diagnose diagnosis treatment_plan which_stocks stocks_to_buy guaranteed_return guaranteed_returns " +
		"specific_stocks investment_products personalized_medical personalized_treatment treating"},
	{"noexpert", kindHarm, "without_a_doctor without_seeing_a_doctor without_a_prescription without_prescription " +
		"without_a_lawyer instead_of_a_doctor instead_of_seeing_a_doctor instead_of_chemotherapy instead_of_medication " +
		"instead_of_insulin stop_taking_medication stop_taking_their_medication stop_chemotherapy " +
		"stop_taking stop_their_medication " +
		"instead_of_the_hospital instead_of_going_to avoid_the_hospital " +
		"cold_turkey don_t_need_a_doctor do_not_need_a_doctor " +
		"with_alcohol mix_with_alcohol and_alcohol " +
		"stop_my_chemotherapy stop_chemo essential_oils_instead instead_of_chemo " +
		"don_t_have_to_see avoid_the_doctor skip_the_doctor"},
	{"rxdrug", kindHarm, "prescription_drug prescription_drugs prescription_medication opioid opioids oxycodone " +
		"hydrocodone adderall xanax benzodiazepine benzodiazepines painkiller painkillers steroid steroids antibiotic " +
		"antibiotics " +
		"oxycontin vicodin " +
		"antidepressant antidepressants"},

	{"ingest", kindHarm, "eat_laundry_detergent laundry_detergent detergent_pod detergent_pods tide_pod tide_pods bleach " +
		"drink_bleach eat_glue rat_poison antifreeze " +
		"drink_saltwater turpentine miracle_mineral_solution"},
	{"intimate", kindHarm, "intimate_images intimate_photos nude_photos nudes explicit_images explicit_photos sexual_images " +
		"intimate_pictures nude_pictures naked_pictures explicit_pictures nude_pics"},
	{"coerce", kindHarm, "coerce pressure blackmail trick manipulate force threaten convince persuade"},
	{"cult", kindHarm, "cult cults extremist_group terrorist_group terrorist_organization militia " +
		"gang street_gang cartel mafia"},
	{"indoctrinate", kindHarm, "indoctrinate recruit radicalize brainwash lure"},
	{"dump", kindHarm, "dump dumping dispose_of get_rid_of"},
	{"waste", kindHarm, "hazardous_waste medical_waste toxic_waste chemical_waste nuclear_waste radioactive_waste"},
	{"disease", kindHarm, "aids hiv cancer schizophrenia bipolar_disorder tumor leukemia diabetes epilepsy tuberculosis"},
	{"graphic", kindHarm, "graphic_detail graphic_details graphically gory gruesome vivid_detail"},
	{"gore", kindHarm, "torture torturing dismember mutilation mutilate massacre murder killing beheading"},

	{"impersonate", kindHarm, "pretending_to_be pretend_to_be posing_as pose_as impersonate impersonating masquerade_as " +
		"claiming_to_be spoofed"},
	{"authority", kindHarm, "bank irs police government company microsoft amazon netflix paypal apple tech_support " +
		"official officials social_security_administration customer_support ceo boss " +
		"it_desk it_department help_desk university school hr it_support " +
		"doctor nurse lawyer police_officer officer cop pharmacist"},
	{"agerestricted", kindHarm, "alcohol beer liquor vodka vape vapes vape_pen vape_pens cigarette cigarettes tobacco " +
		"nicotine cannabis weed marijuana " +
		"betting gambling gamble casino " +
		"steroids anabolic_steroids"},
	{"premises", kindHarm, "house home apartment car store building office  vault warehouse school bank atm " +
		"train plane! aircraft bridge power_grid pipeline railway subway " +
		"a_safe the_safe safe_deposit_box " +
		"restaurant shop business church mosque synagogue temple clinic hospital " +
		"crowd stadium concert parade market"},
	{"trespass", kindHarm, "sneak_into trespass jump_the_fence get_in_without " +
		"cross_the_border_illegally enter_the_country_illegally sneak_across_the_border"},
	{"voyeur", kindHarm, "hidden_camera spy_camera secretly_film secretly_record film record peep spy_on " +
		"hide_a_camera film_guests"},
	{"private", kindHarm, "bathroom shower changing_room bedroom airbnb locker_room toilet restroom undressing " +
		"hotel_room guests guest_room"},
	{"obtain", kindHarm, "get order ship shipped score buy purchase"},
	{"meetalone", kindHarm, "meet_me_alone meet_alone without_telling_their_parents without_telling_her_parents " +
		"without_telling_his_parents without_their_parents don_t_tell_your_parents keep_it_secret"},
	{"dangerdiet", kindHarm, "fasting extreme_fasting extreme_diet diet_pills laxatives purge starve starving"},
	{"tamper", kindHarm, "tamper_with contaminate lace spike poison"},
	{"consumable", kindHarm, "medicine medication food baby_formula water_supply drink drinks pills products"},
	{"wildfire", kindHarm, "start_a_wildfire set_a_wildfire start_a_forest_fire set_a_forest_fire arson firebomb burn_down set_fire_to"},
	{"exposed", kindHarm, "juror jurors witness witnesses judge prosecutor informant"},
	{"lethal", kindHarm, "fatal_dose lethal_dose lethal_amount fatal_amount would_be_fatal would_be_lethal enough_to_kill " +
		"to_inject_into inject_into_a inject_someone"},
	{"arson", kindHarm, "start_a_fire set_fire set_a_fire set_fire_to burn_down arson firebomb " +
		"derail crash_a_plane blow_up " +
		"disrupt sabotage knock_out take_down shut_down cripple " +
		"get_a_gun_into bring_a_gun_into bring_a_knife_into get_a_weapon_into " +
		"crash_into drive_into ram_into plow_into crash_a_drone_into"},

	// Government decision-making.
	{"evade", kindHarm, "evade avoid escape elude outrun hide_from get_past slip_past bypass fool trick deceive outsmart " +
		"beat cheat pass_a pass_the " +
		"hide conceal shelter_from sneak sneak_past " +
		"avoid_paying " +
		"flee flee_the_country skip_bail jump_bail"},
	{"law", kindHarm, "police cops law_enforcement authorities fbi dea customs border_patrol border_control border_checkpoint " +
		"immigration_officer immigration_authorities ice_agents drug_test breathalyzer polygraph lie_detector " +
		"airport_security tsa security_checkpoint metal_detector speed_camera taxes tax irs tax_authorities audit " +
		"sanctions arrest investigation investigators detection forensic forensics surveillance " +
		"conviction convicted criminal_charges dui firefighters emergency_services immigration immigration_authorities smog_test emissions_test emission_standards inspection " +
		"child_support alimony creditors debt_collectors court_order subpoena warrant " +
		"trial extradition bail"},
	{"forge", kindHarm, "forge forged falsify falsified counterfeit fabricate make_fake create_fake produce_fake get_a_fake " +
		"tamper_with fake " +
		"alter altering " +
		"destroy destruction_of"},
	{"document", kindHarm, "passport id id_card identification driver_s_license drivers_license driving_license license " +
		"birth_certificate visa document documents diploma degree certificate signature prescription medical_record " +
		"vaccination_card vaccine_card ballot ballots vote votes evidence receipt receipts invoice invoices cheque " +
		"bank_statement pay_stub social_security_card green_card immigration_papers transcript work_permit " +
		"criminal_record criminal_records records ankle_monitor monitoring_device monitoring_devices " +
		"doctor_s_note doctors_note sick_note medical_note " +
		"press_release statement announcement screenshot headline news_story review reviews testimonial " +
		"identity fake_identity " +
		"breathalyzer interlock ignition_interlock odometer electricity_meter gas_meter " +
		"crowdfunding fundraiser gofundme charity donation_page obituary test_result test_results lab_result lab_results covid_test medical_test " +
		"revenue_numbers financial_statements accounting books earnings " +
		"dependents deductions expenses tax_return " +
		"listing rental_listing job_posting job_listing " +
		"election_results poll_results " +
		"disability injury"},
	{"elect", kindHarm, "rig manipulate steal  interfere_with tamper_with hack disrupt suppress undermine " +
		"overturn stuff " +
		"buy purchase " +
		"intimidate intimidation"},
	{"election", kindHarm, "election elections vote votes voting voter voters ballot ballots electoral poll polls " +
		"voting_machine voting_machines election_result election_results"},
	{"traffic", kindHarm, "traffic trafficking smuggle smuggling " +
		"slip"},
	{"sell", kindHarm, "sell selling"},
	{"sellable", kindHarm, "organs human_organs kidney kidneys children kids girls women slaves weapons guns firearms cocaine " +
		"heroin fentanyl meth methamphetamine crack_cocaine ivory endangered_animals stolen_goods stolen_data " +
		"stolen " +
		"fake counterfeit knockoff replica fakes"},
	{"contraband", kindHarm, "people humans human person women girls children kids migrants organs human_organs drugs " +
		"weapons guns firearms contraband ivory endangered_animals cocaine heroin fentanyl meth illegal_immigrants " +
		"exotic_birds exotic_animals wildlife endangered_species rhino_horn"},
	{"prison", kindHarm, "prison jail custody detention"},
}
